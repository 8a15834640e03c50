"""Evaluation results as a versioned JSON document.

One document per (model, task) holds: the model and the resolved evaluation config, the settings
actually used to encode (``settings``: query/passage lengths, precision record), fingerprints of
the data files read, every aggregate metric per setting (``metrics``), per query language and per
language pair (LAReQA), per query (``per_query``: what paired tests need), complex-query subsets,
extra analyses (language bias, removed self-hits, the kept run) and timings; a result the experiment
runner wrote also says which cell and suite it is (``experiment``). Metric names and versions:
:mod:`polyret.evaluation.schema` (schema 1 files are upgraded on load; newer ones are refused).
NaN (a metric with no queries) is written as ``null``. Files are written atomically.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from polyret.atomic import clean_stale_temporaries, write_text
from polyret.errors import UserError
from polyret.evaluation.schema import SCHEMA_VERSION, upgrade


def json_safe(obj: Any) -> Any:
    """NaN/inf -> None, numpy scalars -> Python, tuples -> lists (JSON-safe)."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
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
    settings: dict[str, Any] = field(default_factory=dict)  # lengths and precision used to encode
    experiment: dict[str, Any] = field(default_factory=dict)  # runner: cell, arm, seed, suite, suite_key
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    polyret_version: str = field(default_factory=lambda: _version())
    schema_version: int = SCHEMA_VERSION

    @property
    def model_name(self) -> str:
        return str(self.model.get("name", "?"))

    def metric(self, setting: str, name: str) -> float | None:
        """The aggregate ``name`` of ``setting`` (``None`` when absent or NaN)."""
        value = self.metrics.get(setting, {}).get(name)
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)

    def scores(self, setting: str, name: str) -> dict[str, float]:
        """Per-query values ``query id -> value`` of ``name`` in ``setting`` ({} when not kept)."""
        return dict(self.per_query.get(setting, {}).get(name) or {})

    def query_ids(self) -> list[str]:
        """The evaluated query ids (union over settings and metrics), sorted."""
        return sorted({q for cols in self.per_query.values() for vals in cols.values() for q in vals})

    def fingerprints(self) -> list[str]:
        """sha256 of every data file read, sorted (independent of where the files were)."""
        return sorted(str(v.get("sha256")) for v in self.data.get("files", {}).values())

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))

    def save(self, path: str | Path) -> Path:
        """Write the result atomically (a killed write never leaves a partial file under ``path``);
        stale ``.tmp-*`` leftovers of killed earlier writes in its folder are removed."""
        text = json.dumps(self.to_dict(), indent=1, ensure_ascii=False, allow_nan=False) + "\n"
        clean_stale_temporaries(Path(path).parent)
        return write_text(path, text)

    @classmethod
    def from_dict(cls, obj: dict[str, Any], source: str = "<dict>") -> EvalResult:
        if not isinstance(obj, dict):
            raise UserError(f"{source}: not a polyret result (a JSON object is expected)")
        version = obj.get("schema_version")
        if version == 1:
            obj = upgrade(obj)
        elif version != SCHEMA_VERSION:
            raise UserError(
                f"{source}: schema_version {version!r} is not supported (this polyret reads 1 and "
                f"{SCHEMA_VERSION}; a newer file needs a newer polyret)"
            )
        known = set(cls.__dataclass_fields__)
        missing = {"task", "model", "config", "metrics", "per_query"} - set(obj)
        if missing:
            raise UserError(f"{source}: not a polyret result, missing {sorted(missing)}")
        fields = {k: v for k, v in obj.items() if k in known}
        objects = {"model", "config", "metrics", "per_query"} | {
            k for k, f in cls.__dataclass_fields__.items() if f.default_factory is dict}
        wrong = [k for k in objects if k in fields and not isinstance(fields[k], dict)]
        if wrong:
            raise UserError(f"{source}: damaged result, {', '.join(sorted(set(wrong)))} not a JSON object")
        return cls(**fields)

    @classmethod
    def load(cls, path: str | Path) -> EvalResult:
        path = Path(path)
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise UserError(f"{path}: results file not found") from err
        except UnicodeDecodeError as err:
            raise UserError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from err
        except json.JSONDecodeError as err:
            raise UserError(f"{path}:{err.lineno}: invalid JSON ({err.msg})") from err
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
            with f.open("rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
            out[str(f)] = {"bytes": f.stat().st_size, "sha256": digest}
    return out
