"""Embed a text file into a ``.npy`` matrix, on one process or sharded over ``torchrun`` processes.

Input files:

- ``.txt``: one text per line (line ``i`` -> row ``i - 1``; empty lines are kept as empty texts);
- ``.jsonl``: one JSON object per line with ``text`` (and optional ``title``, joined as
  ``title + " " + text`` as BEIR does) and an id in ``_id`` / ``id`` / ``query_id`` / ``doc_id``.

A UTF-8 byte order mark at the start of the file is dropped (as by every polyret reader). Bytes that
are not UTF-8 are an error naming the file and line (``errors="strict"``, the default:
silently altered text would be embedded without anyone noticing); ``errors="replace"`` substitutes
U+FFFD instead and warns once with the number of lines affected.

An id may not contain a line break (it would misalign ``.ids.txt``): that is an error naming the
file and line.

Output, one consistent unit: ``<output>`` (.npy), ``<output>.ids.txt`` and ``<output>.json`` (the
settings, plus the row count and sha256 of the other two). Each file is written atomically; the
``.json`` is removed before the others are replaced and written last, so it is the commit mark: a
kill at any point leaves either the previous complete unit, or files without a ``.json``, which
:func:`read_embeddings` refuses.

Distributed: under ``torchrun`` (``WORLD_SIZE`` > 1) each rank encodes a contiguous slice, writes
``<output>.rank<r>.npy`` and rank 0 concatenates the slices in order into ``<output>`` (then removes
them). The result equals a single-process run.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from polyret.atomic import atomic_write, clean_stale_temporaries, write_json, write_text
from polyret.data.io import BOM
from polyret.errors import UserError
from polyret.retrieval.text import join_title

log = logging.getLogger(__name__)
ID_FIELDS = ("_id", "id", "query_id", "doc_id", "qid", "docid")


class InputFormatError(UserError, ValueError):
    """A malformed input line (the message names the file and line)."""


class IncompleteOutputError(UserError, ValueError):
    """An embedding output whose files are missing or disagree (e.g. left by a killed run)."""


def _decode(raw: bytes, path: Path, lineno: int, errors: str) -> tuple[str, bool]:
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError as err:
        if errors == "strict":
            raise InputFormatError(f"{path}:{lineno}: not valid UTF-8 (byte {err.start}: {err.reason}); fix "
                                   "the file or pass errors='replace' (--encoding-errors replace)") from None
        return raw.decode("utf-8", errors="replace"), True


def read_texts(path: str | Path, errors: str = "strict") -> tuple[list[str], list[str]]:
    """(ids, texts) from a ``.txt`` or ``.jsonl`` file (see module docstring)."""
    if errors not in ("strict", "replace"):
        raise ValueError(f"errors must be 'strict' or 'replace', not {errors!r}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".txt", ".jsonl"):
        raise InputFormatError(f"{path}: unsupported input type {suffix!r} (expected .txt or .jsonl)")
    ids, texts, replaced = [], [], 0
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            if lineno == 1 and raw.startswith(BOM):  # a byte order mark is no part of the first text
                raw = raw[len(BOM):]
            line, bad = _decode(raw.rstrip(b"\r\n"), path, lineno, errors)
            replaced += bad
            if suffix == ".txt":
                ids.append(str(lineno))
                texts.append(line)
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputFormatError(f"{path}:{lineno}: invalid JSON ({err.msg})") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise InputFormatError(f"{path}:{lineno}: expected an object with a string 'text' field")
            key = next((k for k in ID_FIELDS if k in obj), None)
            if key and (not isinstance(obj[key], (str, int)) or isinstance(obj[key], bool)):
                raise InputFormatError(f"{path}:{lineno}: id field {key!r} must be a string or integer, "
                                       f"not {type(obj[key]).__name__}")
            doc_id = str(obj[key]) if key else str(lineno)
            if len(doc_id.splitlines()) != 1 or doc_id != doc_id.strip("\r\n"):
                raise InputFormatError(f"{path}:{lineno}: id {doc_id!r} contains a line break or is empty; "
                                       "it cannot be written one per line to the .ids.txt file")
            ids.append(doc_id)
            texts.append(join_title(obj.get("title") or "", obj["text"]))
    if replaced:
        warnings.warn(f"{path}: {replaced} line(s) were not valid UTF-8; bad bytes were replaced by U+FFFD",
                      UnicodeWarning, stacklevel=2)
    return ids, texts


def shard_bounds(n: int, rank: int, world_size: int) -> tuple[int, int]:
    """Contiguous [start, end) slice of ``n`` items for ``rank`` (sizes differ by at most one)."""
    base, extra = divmod(n, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


def dist_env() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from torchrun's environment (0, 1, 0 when not distributed)."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)))


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with atomic_write(path, "wb") as f:
        np.save(f, arr)


def companion(output: str | Path, suffix: str) -> Path:
    """``<output><suffix>`` (``.ids.txt`` or ``.json``)."""
    output = Path(output)
    return output.with_name(output.name + suffix)


def _digest(path: Path) -> str:
    import hashlib

    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def write_embeddings(output: str | Path, emb: np.ndarray | None, ids: list[str],
                     info: dict[str, Any]) -> dict:
    """Write the unit (.npy unless ``emb`` is None: already written, .ids.txt, then .json last).

    Stale ``.tmp-*`` leftovers of killed writes in the output folder are removed first."""
    output = Path(output)
    clean_stale_temporaries(output.parent)
    companion(output, ".json").unlink(missing_ok=True)  # no manifest vouches for files being replaced
    if emb is not None:
        _save_npy(output, emb)
    ids_file = write_text(companion(output, ".ids.txt"), "".join(f"{i}\n" for i in ids))
    info = {**info, "rows": len(ids), "files": {"npy_sha256": _digest(output),
                                                "ids_sha256": _digest(ids_file)}}
    write_json(companion(output, ".json"), info)
    return info


def read_embeddings(output: str | Path) -> tuple[list[str], np.ndarray, dict]:
    """(ids, (N, D) embeddings, settings) of a complete ``polyret embed`` output; anything partial
    or inconsistent is an :class:`IncompleteOutputError`."""
    output = Path(output)
    manifest = companion(output, ".json")
    try:
        info = json.loads(manifest.read_text(encoding="utf-8"))
        files = info["files"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise IncompleteOutputError(f"{manifest}: missing or unreadable ({err}); the embedding output "
                                    f"{output} is incomplete (a killed run?): embed again") from None
    ids_file = companion(output, ".ids.txt")
    for path, key in ((output, "npy_sha256"), (ids_file, "ids_sha256")):
        if not path.is_file() or _digest(path) != files.get(key):
            raise IncompleteOutputError(f"{path}: missing or does not match {manifest}; embed again")
    ids = ids_file.read_text(encoding="utf-8").split("\n")[:-1]
    emb = np.load(output)
    if emb.shape[0] != len(ids) or len(ids) != info.get("rows"):
        raise IncompleteOutputError(f"{output}: {emb.shape[0]} rows, {len(ids)} ids, manifest says "
                                    f"{info.get('rows')}")
    return ids, emb, info


def encode_sharded(model, texts: list[str], side: str, output: str | Path,
                   **encode_options) -> np.ndarray | None:
    """Encode ``texts`` across the torchrun world and write (N, D) float32 to ``output``.

    Returns the full matrix on rank 0 (and in single-process runs), ``None`` on other ranks.
    """
    import torch.distributed as dist

    from polyret.retrieval.cached import encode_cached

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    rank, world, _ = dist_env()
    if world == 1:
        emb = encode_cached(model, texts, side, **encode_options)
        companion(output, ".json").unlink(missing_ok=True)
        _save_npy(output, emb)
        return emb
    started = not dist.is_initialized()
    if started:
        dist.init_process_group(backend="nccl" if model.device.type == "cuda" else "gloo")
    try:
        start, end = shard_bounds(len(texts), rank, world)
        part = encode_cached(model, texts[start:end], side, **encode_options)
        shard = output.with_name(f"{output.name}.rank{rank}.npy")
        _save_npy(shard, part)
        dist.barrier()
        merged = None
        if rank == 0:
            shards = [output.with_name(f"{output.name}.rank{r}.npy") for r in range(world)]
            merged = np.concatenate([np.load(s) for s in shards]) if texts else part
            if merged.shape[0] != len(texts):
                raise RuntimeError(f"merged {merged.shape[0]} rows for {len(texts)} texts")
            companion(output, ".json").unlink(missing_ok=True)
            _save_npy(output, merged)
            for s in shards:
                s.unlink(missing_ok=True)
        dist.barrier()
        return merged
    finally:
        if started:
            dist.destroy_process_group()


def embed_file(model_name: str, input_path: str | Path, side: str, output: str | Path,
               batch_size: int = 32, max_tokens: int | None = None, errors: str = "strict",
               use_cache: bool = False, device: str | None = None, show_progress: bool | None = None,
               precision: str = "auto") -> dict:
    """Read ``input_path``, embed it with ``model_name`` (sharded under torchrun) and write the
    output unit (see the module docstring). Returns the settings written to ``<output>.json``."""
    from polyret.hardware import precision_record
    from polyret.modeling.encoder import set_inference_precision
    from polyret.modeling.registry import load_model

    rank, world, local_rank = dist_env()
    if device is None and world > 1:
        import torch

        device = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
    ids, texts = read_texts(input_path, errors=errors)
    model = load_model(model_name, device=device)
    record = precision_record(precision, model.device)
    set_inference_precision(model, record["used"])
    emb = encode_sharded(model, texts, side, output, batch_size=batch_size, max_tokens=max_tokens,
                         cache=use_cache, show_progress=show_progress)
    output = Path(output)
    info = {"model": model_name, "fingerprint": model.fingerprint(), "input": str(input_path), "side": side,
            "rows": len(texts), "dim": model.dim, "batch_size": batch_size, "max_tokens": max_tokens,
            "encoding_errors": errors, "world_size": world, "encoder_config": model.config.to_dict(),
            "precision": record, "output": str(output)}
    if rank == 0 and emb is not None:
        info = write_embeddings(output, None, ids, info)
    return info
