"""Resuming a run: is there one, may it continue with this configuration, has it finished?

- :func:`check_resume_config`: the keys whose values differ from the run being resumed
  (:class:`~polyret.errors.ConfigError` naming them unless the change is explicitly allowed;
  :data:`RESUME_IGNORED` keys only say where the run lives and how it reports).
- :func:`finished_result`: a finished run's saved :class:`TrainResult` (its ``train_summary.json``,
  written last), so ``resume=True`` on it returns at once.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyret.config import ExperimentConfig, config_differences, load_config
from polyret.errors import ConfigError, UserError
from polyret.schemas import TrainSummary, load_json, validate
from polyret.training import checkpointing as ckpt

log = logging.getLogger(__name__)
SUMMARY = "train_summary.json"
RESUME_IGNORED = ("train.output_dir", "train.progress", "train.keep_checkpoints",
                  "train.keep_checkpoints_at_end")


@dataclass
class TrainResult:
    """What :func:`polyret.training.trainer.train` returns (``summary``: train_summary.json)."""

    output_dir: Path
    steps: int
    best_step: int
    best_val_loss: float
    summary: dict


def check_resume_config(cfg: ExperimentConfig, out: Path, allow: bool) -> list[str]:
    """Keys whose values differ from the run being resumed (ConfigError unless ``allow``)."""
    saved = out / "config.yaml"
    has_state = (out / SUMMARY).is_file() or ckpt.list_checkpoints(out / "checkpoints")
    if not saved.is_file() or not has_state:
        return []  # nothing to resume: a fresh start
    try:
        old = load_config(saved)
    except UserError as exc:
        raise ConfigError(f"cannot resume {out}: its config.yaml is unreadable ({exc})") from None
    changed = config_differences(old, cfg, ignore=RESUME_IGNORED)
    if changed and not allow:
        shown = ", ".join(f"{k} ({_get(old, k)!r} -> {_get(cfg, k)!r})" for k in changed)
        raise ConfigError(f"cannot resume {out}: the configuration differs from the saved config.yaml in "
                          f"{shown}; use a new train.output_dir, or --allow-config-change to continue anyway")
    return changed


def _get(cfg: ExperimentConfig, key: str) -> Any:
    section, name = key.split(".", 1)
    return getattr(getattr(cfg, section), name)


def finished_result(cfg: ExperimentConfig, out: Path) -> TrainResult | None:
    """The saved result of a finished run in ``out`` (None when it has not finished)."""
    path = out / SUMMARY
    if not path.is_file():
        return None
    try:
        summary = load_json(path, "training summary")
        parsed = validate(TrainSummary, summary, path, "training summary")
    except UserError as exc:  # recomputable: train again (from the checkpoints, if any)
        log.warning("%s; training again", exc)
        path.unlink(missing_ok=True)
        return None
    if parsed.steps > cfg.train.max_steps:
        raise UserError(f"{path}: claims {parsed.steps} steps but train.max_steps is {cfg.train.max_steps}; "
                        "a summary of another run? use a new train.output_dir")
    if not cfg.train.keep_checkpoints_at_end:
        shutil.rmtree(out / "checkpoints", ignore_errors=True)
    best = summary.get("best_val_loss")
    log.info("%s already finished (%s steps): returning its saved result", out, summary.get("steps"))
    return TrainResult(out, parsed.steps, parsed.best_step, float("nan") if best is None else float(best),
                       summary)
