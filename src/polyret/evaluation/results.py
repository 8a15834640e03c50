"""Evaluation results as a versioned JSON document.

One document per (model, task) holds: the model and the resolved evaluation config, fingerprints of
the data files read, every aggregate metric per setting (``metrics``), per query language and per
language pair (LAReQA), per query (``per_query``: what paired tests need), complex-query subsets,
extra analyses (language bias, removed self-hits) and timings. ``schema_version`` is checked on load.
NaN (a metric with no queries) is written as ``null``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1


def _clean(obj: Any) -> Any:
    """NaN/inf -> None, numpy scalars -> Python, tuples -> lists (JSON-safe)."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str | bytes):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


@dataclass
class EvalResult:
    """Everything one evaluation measured (see the module docstring for the fields)."""

    task: str
    model: dict[str, Any]
    config: dict[str, Any]
    metrics: dict[str, dict[str, float]]  # setting -> metric -> value
    per_query: dict[str, dict[str, dict[str, float]]]  # setting -> metric -> query id -> value
    data: dict[str, Any] = field(default_factory=dict)
    per_language: dict[str, Any] = field(default_factory=dict)
    pairs: dict[str, Any] = field(default_factory=dict)
    subsets: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    polyret_version: str = field(default_factory=lambda: _version())
    schema_version: int = SCHEMA_VERSION

    @property
    def model_name(self) -> str:
        return str(self.model.get("name", "?"))

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(
            json.dumps(self.to_dict(), indent=1, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
        )
        tmp.replace(path)
        return path

    @classmethod
    def from_dict(cls, obj: dict[str, Any], source: str = "<dict>") -> EvalResult:
        version = obj.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(
                f"{source}: schema_version {version!r} is not supported (expected {SCHEMA_VERSION})"
            )
        known = set(cls.__dataclass_fields__)
        missing = {"task", "model", "config", "metrics", "per_query"} - set(obj)
        if missing:
            raise ValueError(f"{source}: not a polyret result, missing {sorted(missing)}")
        return cls(**{k: v for k, v in obj.items() if k in known})

    @classmethod
    def load(cls, path: str | Path) -> EvalResult:
        path = Path(path)
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{err.lineno}: invalid JSON ({err.msg})") from err
        return cls.from_dict(obj, str(path))


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("polyret")
    except Exception:  # not installed (running from a checkout)
        return "unknown"


def fingerprint_files(paths: list[str | Path]) -> dict[str, dict[str, Any]]:
    """``path -> {bytes, sha256}`` for each file (folders: every file below, sorted)."""
    out: dict[str, dict[str, Any]] = {}
    for p in paths:
        p = Path(p)
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            h = hashlib.sha256()
            with f.open("rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(block)
            out[str(f)] = {"bytes": f.stat().st_size, "sha256": h.hexdigest()}
    return out
