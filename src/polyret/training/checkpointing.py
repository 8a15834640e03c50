"""Resumable checkpoints from ONE description of the training state, loaded without unpickling code.

The trainer names its stateful parts once, as an ordered mapping ``{name: object}`` whose objects
have ``state_dict()`` / ``load_state_dict()`` (model, optimizer, scheduler, sampler, tracker,
progress and :class:`RngState`, last). :func:`save_checkpoint` writes ``{name: obj.state_dict()}``
and :func:`restore` feeds each entry back to the same object: there is no second list to keep in
sync by hand.

A checkpoint is ``checkpoints/step-000050/state.pt`` (+ ``meta.json``), built in a temporary folder
and renamed into place (:func:`polyret.atomic.atomic_dir`): a run killed while saving leaves only a
``.tmp-*`` folder, removed on the next start. Every state is tensors and plain Python values
(RNG states included), so :func:`load_checkpoint` uses ``torch.load(weights_only=True)``: a crafted
``state.pt`` cannot run code. :func:`load_latest` falls back to the previous intact checkpoint when
the newest one is truncated or unreadable. Each checkpoint names the machine that wrote it, so a
resume on another kind of machine is seen (:func:`machine_change`).
"""

from __future__ import annotations

import json
import logging
import pickle
import random
import re
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from polyret.atomic import atomic_dir, write_json
from polyret.errors import UserError
from polyret.hardware import machine_info, machine_kind

log = logging.getLogger(__name__)
STEP_RE = re.compile(r"^step-(\d+)$")
FORMAT = 2  # 2: weights_only-loadable states (plain RNG states)


class Stateful(Protocol):
    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


class CheckpointError(UserError):
    """A checkpoint could not be written (disk full, permissions) or read."""


def rng_state() -> dict[str, Any]:
    """Python, NumPy, torch (and CUDA) RNG states as tensors and plain values."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": {"version": version, "internal": list(internal), "gauss": gauss},
             "numpy": {"name": name, "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                       "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)},
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    py, npy = state["python"], state["numpy"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss"]))
    np.random.set_state((npy["name"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class RngState:
    """The global RNGs as a stateful component (put it last: restored after everything else)."""

    def state_dict(self) -> dict[str, Any]:
        return rng_state()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        set_rng_state(state)


def save_checkpoint(folder: str | Path, step: int, components: Mapping[str, Stateful], keep: int = 2) -> Path:
    """Write every component's state as ``folder/step-XXXXXX`` (atomically); prune to ``keep``."""
    folder = Path(folder)
    final = folder / f"step-{step:06d}"
    state = {name: obj.state_dict() for name, obj in components.items()}
    try:
        with atomic_dir(final) as tmp:
            machine = json.loads(json.dumps(machine_info(), default=str))  # plain types (torch.__version__
            # is a str subclass that weights_only loading refuses)
            torch.save({"step": step, "format": FORMAT, "state": state, "machine": machine}, tmp / "state.pt")
            write_json(tmp / "meta.json", {"step": step, "format": FORMAT, "components": list(state)})
    except (OSError, RuntimeError) as exc:  # a full disk shows as "enforce fail at inline_container.cc"
        reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else "the write stopped part-way"
        raise CheckpointError(f"cannot write the checkpoint {final}: {reason} (is the disk full?)") from exc
    if keep > 0:
        for old in list_checkpoints(folder)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(folder: str | Path) -> list[Path]:
    """``step-*`` folders holding a ``state.pt``, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if STEP_RE.match(p.name) and (p / "state.pt").is_file()]
    return sorted(found, key=lambda p: int(STEP_RE.match(p.name).group(1)))


def latest_checkpoint(folder: str | Path) -> Path | None:
    ckpts = list_checkpoints(folder)
    return ckpts[-1] if ckpts else None


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """``{"step", "format", "state": {name: state}}`` from ``path/state.pt`` (no code is unpickled)."""
    path = Path(path)
    try:
        payload = torch.load(path / "state.pt", map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path / 'state.pt'}: not a readable polyret checkpoint: {first}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "state" not in payload:
        raise CheckpointError(f"{path / 'state.pt'}: not a polyret checkpoint of format {FORMAT}")
    return payload


def restore(components: Mapping[str, Stateful], payload: dict[str, Any], source: str | Path = "checkpoint",
            max_step: int | None = None) -> int:
    """Load each component's saved state (in the mapping's order); returns the checkpoint's step.

    A step that is not an integer in ``[0, max_step]``, a missing component, or a state that does not fit
    its component (tensors of another shape, missing keys) is a :class:`CheckpointError` naming ``source``.
    """
    step, state = payload.get("step"), payload["state"]
    in_range = isinstance(step, int) and not isinstance(step, bool) and 0 <= step <= (max_step or step)
    if not in_range:
        limit = f" (this run's train.max_steps is {max_step})" if max_step is not None else ""
        raise CheckpointError(f"{source}: claims step {step!r}, not a step of this run{limit}; "
                              "a checkpoint of another run? use a new train.output_dir")
    if not isinstance(state, dict):
        raise CheckpointError(f"{source}: its state is a {type(state).__name__}, not a mapping of components")
    missing = [name for name in components if name not in state]
    if missing:
        raise CheckpointError(f"{source}: checkpoint of step {step} lacks {missing}")
    for name, obj in components.items():
        try:
            obj.load_state_dict(state[name])
        except (RuntimeError, KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if len(str(exc).strip().splitlines()) > 1:
                first += " " + str(exc).strip().splitlines()[1].strip()
            raise CheckpointError(f"{source}: the saved {name} state does not fit this run "
                                  f"({first[:240]})") from None
    return step


def machine_change(payload: dict[str, Any]) -> str | None:
    """``"written on A, resumed on B"`` when the checkpoint's machine is of another kind than this one
    (bf16 arithmetic differs between kinds), else None (same kind, or a checkpoint that does not say)."""
    then, now = payload.get("machine"), machine_info()
    if not isinstance(then, dict) or machine_kind(then) == machine_kind(now):
        return None

    def name(info: dict[str, Any]) -> str:
        flags = ", ".join(info.get("cpu_bf16_flags") or []) or "no bf16"
        return info.get("gpu") or f"{info.get('cpu_model')} ({flags})"

    return f"written on {name(then)}, resumed on {name(now)}"


def load_latest(folder: str | Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint that loads, falling back past truncated or unreadable ones (warned)."""
    for path in reversed(list_checkpoints(folder)):
        try:
            return path, load_checkpoint(path)
        except CheckpointError as exc:
            log.warning("skipping a damaged checkpoint: %s", exc)
    return None
