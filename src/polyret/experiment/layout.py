"""Where an experiment keeps its files, and the compact form of its results.

::

    OUT/experiment.yaml             the resolved experiment config (ExperimentSpec.to_dict)
    OUT/manifest.json               versions, machine, data fingerprints, git commit, cost per cell
    OUT/preregistration.json        the pre-registered subsets (query ids) and hypotheses
    OUT/logs/run-<time>.log         one log file per run
    OUT/cells/<cell_id>/cell.json   what the cell is and how it went (:class:`CellRecord`)
    OUT/cells/<cell_id>/train/      the training run (weights deleted when keep_models is false;
                                    metrics.jsonl, train_summary.json and config.yaml stay)
    OUT/cells/<cell_id>/results/<suite slug>.json.gz   one evaluation result (gzip JSON, an EvalResult)
    OUT/cells/<cell_id>/results/<suite slug>.run.trec.gz   its kept run (run-based tasks; top 100)
    OUT/report.md, OUT/report.html, OUT/plots/*.png
    OUT/.polyret.lock               held (flock) by the one run writing the folder
    OUT/superseded/<spec hash>/     an earlier config and its cells (``--allow-spec-change``)

A cell id is ``<arm>-s<seed>-<hash>`` for a trained cell and ``<reference>-<hash>`` for a reference
(zero-shot, bm25), the hash being that of the cell's resolved training config (or model), so a
changed config makes a new cell and shards of one grid merge by folder.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from polyret.atomic import atomic_write, write_json
from polyret.errors import UserError
from polyret.evaluation.kept_runs import kept_run_path
from polyret.evaluation.results import EvalResult, json_safe

RESULT_SUFFIX = ".json.gz"
PER_QUERY_DIGITS = 6  # per-query scores are rounded: compact, and far below any reported difference


@dataclass
class CellRecord:
    """``cell.json``: one trained (arm, seed) or one reference model."""

    cell_id: str
    arm: str
    kind: str  # "trained" | "reference"
    seed: int | None = None
    strategy: str | None = None
    alpha: float | None = None
    status: str = "pending"  # pending | trained | done
    config: dict[str, Any] = field(default_factory=dict)  # resolved training config (trained cells)
    train_summary: dict[str, Any] | None = None
    timings: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    code: dict[str, Any] = field(default_factory=dict)  # polyret commit (and local changes) that ran it
    reused_from: dict[str, Any] | None = None  # {experiment, cell_id, results} when copied (--reuse-from)
    weights: str | None = None  # fingerprint of the weights every result of the cell came from

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, obj: dict[str, Any], source: str = "<dict>") -> CellRecord:
        known = set(cls.__dataclass_fields__)
        missing = {"cell_id", "arm", "kind"} - set(obj)
        if missing:
            raise UserError(f"{source}: not a cell record (missing {', '.join(sorted(missing))})")
        return cls(**{k: v for k, v in obj.items() if k in known})


class ExperimentLayout:
    """Paths inside one experiment folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def spec_file(self) -> Path:
        return self.root / "experiment.yaml"

    @property
    def manifest_file(self) -> Path:
        return self.root / "manifest.json"

    @property
    def preregistration_file(self) -> Path:
        return self.root / "preregistration.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    @property
    def cells_dir(self) -> Path:
        return self.root / "cells"

    def cell_dir(self, cell_id: str) -> Path:
        return self.cells_dir / cell_id

    def cell_file(self, cell_id: str) -> Path:
        return self.cell_dir(cell_id) / "cell.json"

    def train_dir(self, cell_id: str) -> Path:
        return self.cell_dir(cell_id) / "train"

    def result_file(self, cell_id: str, slug: str) -> Path:
        return self.cell_dir(cell_id) / "results" / f"{slug}{RESULT_SUFFIX}"

    def kept_run_file(self, cell_id: str, slug: str) -> Path:
        """The run kept beside a result (:mod:`polyret.evaluation.kept_runs`)."""
        return kept_run_path(self.result_file(cell_id, slug))

    def cell_ids(self) -> list[str]:
        if not self.cells_dir.is_dir():
            return []
        return sorted(p.name for p in self.cells_dir.iterdir() if (p / "cell.json").is_file())

    def read_cell(self, cell_id: str) -> CellRecord:
        """The cell's record, validated (:class:`polyret.schemas.CellFile`); damage is one UserError."""
        from polyret.schemas import CellFile, validate

        path = self.cell_file(cell_id)
        raw = _read_json(path)
        validate(CellFile, raw, path, "cell record")
        return CellRecord.from_dict(raw, str(path))

    def write_cell(self, record: CellRecord) -> Path:
        return write_json(self.cell_file(record.cell_id), json_safe(record.to_dict()))

    def cells(self) -> Iterator[CellRecord]:
        for cell_id in self.cell_ids():
            yield self.read_cell(cell_id)

    def results(self, cell_id: str) -> dict[str, EvalResult]:
        """``slug -> result`` of every finished evaluation of a cell."""
        folder = self.cell_dir(cell_id) / "results"
        if not folder.is_dir():
            return {}
        files = sorted(folder.glob(f"*{RESULT_SUFFIX}"))
        return {p.name[: -len(RESULT_SUFFIX)]: read_result(p) for p in files}


def _read_json(path: Path) -> Any:
    """A JSON file's content (a leading BOM is fine); damage is one UserError naming the file."""
    from polyret.schemas import load_json

    return load_json(path, "experiment record")


def _compact(obj: Any, inside: bool = False) -> Any:
    """Round the floats under every ``per_query`` key to :data:`PER_QUERY_DIGITS` digits."""
    if isinstance(obj, dict):
        return {k: _compact(v, inside or k == "per_query") for k, v in obj.items()}
    if isinstance(obj, list):
        return [_compact(v, inside) for v in obj]
    if inside and isinstance(obj, float):
        return round(obj, PER_QUERY_DIGITS)
    return obj


def write_result(path: str | Path, result: EvalResult) -> Path:
    """Write one evaluation result as gzip JSON (per-query values rounded), atomically."""
    data = json.dumps(_compact(result.to_dict()), ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode()
    with atomic_write(path, "wb") as handle:
        handle.write(gzip.compress(data, compresslevel=6, mtime=0))
    return Path(path)


def read_result(path: str | Path) -> EvalResult:
    """Read a result written by :func:`write_result` (or a plain ``.json``); a damaged or foreign
    file is a :class:`UserError` naming it."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        text = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
        obj = json.loads(text)
    except FileNotFoundError:
        raise UserError(f"{path}: missing") from None
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: damaged result file ({exc})") from None
    try:
        return EvalResult.from_dict(obj, str(path))
    except TypeError as exc:  # a field of the wrong shape
        raise UserError(f"{path}: damaged result file ({exc})") from None
