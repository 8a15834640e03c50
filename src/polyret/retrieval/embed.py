"""Embed a text file into a ``.npy`` matrix, on one process or sharded over ``torchrun`` processes.

Input files:

- ``.txt``: one text per line (line ``i`` -> row ``i - 1``; empty lines are kept as empty texts);
- ``.jsonl``: one JSON object per line with ``text`` (and optional ``title``, joined as
  ``title + " " + text`` as BEIR does) and an id in ``_id`` / ``id`` / ``query_id`` / ``doc_id``.

Bytes that are not UTF-8 are an error naming the file and line (``errors="strict"``, the default:
silently altered text would be embedded without anyone noticing); ``errors="replace"`` substitutes
U+FFFD instead and warns once with the number of lines affected.

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

import numpy as np

log = logging.getLogger(__name__)
ID_FIELDS = ("_id", "id", "query_id", "doc_id", "qid", "docid")


class InputFormatError(ValueError):
    """A malformed input line (the message names the file and line)."""


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
            ids.append(str(obj[key]) if key else str(lineno))
            title = obj.get("title") or ""
            texts.append(f"{title} {obj['text']}".strip() if title else obj["text"])
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
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.npy")
    np.save(tmp, arr)
    tmp.replace(path)


def encode_sharded(model, texts: list[str], side: str, output: str | Path,
                   **encode_options) -> np.ndarray | None:
    """Encode ``texts`` across the torchrun world and write (N, D) float32 to ``output``.

    Returns the full matrix on rank 0 (and in single-process runs), ``None`` on other ranks.
    """
    import torch.distributed as dist

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    rank, world, _ = dist_env()
    if world == 1:
        emb = model.encode(texts, side=side, **encode_options)
        _save_npy(output, emb)
        return emb
    started = not dist.is_initialized()
    if started:
        dist.init_process_group(backend="nccl" if model.device.type == "cuda" else "gloo")
    try:
        start, end = shard_bounds(len(texts), rank, world)
        part = model.encode(texts[start:end], side=side, **encode_options)
        shard = output.with_name(f"{output.name}.rank{rank}.npy")
        _save_npy(shard, part)
        dist.barrier()
        merged = None
        if rank == 0:
            shards = [output.with_name(f"{output.name}.rank{r}.npy") for r in range(world)]
            merged = np.concatenate([np.load(s) for s in shards]) if texts else part
            if merged.shape[0] != len(texts):
                raise RuntimeError(f"merged {merged.shape[0]} rows for {len(texts)} texts")
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
               use_cache: bool = False, device: str | None = None, show_progress: bool | None = None) -> dict:
    """Read ``input_path``, embed it with ``model_name`` (sharded under torchrun) and write ``output``
    (.npy), ``<output>.ids.txt`` and ``<output>.json`` (resolved settings). Returns the settings."""
    from polyret.modeling.registry import load_model
    from polyret.retrieval.cache import EmbeddingCache

    rank, world, local_rank = dist_env()
    if device is None and world > 1:
        import torch

        device = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
    ids, texts = read_texts(input_path, errors=errors)
    model = load_model(model_name, device=device)
    cache = EmbeddingCache() if use_cache else None
    emb = encode_sharded(model, texts, side, output, batch_size=batch_size, max_tokens=max_tokens,
                         cache=cache, show_progress=show_progress)
    output = Path(output)
    info = {"model": model_name, "fingerprint": model.fingerprint(), "input": str(input_path), "side": side,
            "rows": len(texts), "dim": model.dim, "batch_size": batch_size, "max_tokens": max_tokens,
            "encoding_errors": errors, "world_size": world, "encoder_config": model.config.to_dict(),
            "output": str(output)}
    if rank == 0 and emb is not None:
        ids_file = output.with_name(output.name + ".ids.txt")
        info_file = output.with_name(output.name + ".json")
        ids_file.write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
        info_file.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info
