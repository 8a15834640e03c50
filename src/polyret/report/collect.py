"""Read an experiment folder for the report; every look-up into a result lives here.

A result is an :class:`~polyret.evaluation.results.EvalResult` (read back by
:func:`polyret.experiment.layout.read_result`; schema-1 names are upgraded on load, so there is no
alias table). LAReQA: ``metric(setting, name)`` for mono / cross / multi and ``metric("bias",
"rank_distance")``; ``pairs["metrics"][metric][x][y]``. Run-based tasks (BEIR, BIRCO):
``metric("all", measure)`` and ``scores("all", measure)``.

:func:`load_experiment` reads the spec, the cells, their results, the pre-registration and the
manifest, and lists what is missing (a cell not done, a suite not evaluated) instead of dropping it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polyret.errors import UserError
from polyret.evaluation.results import EvalResult
from polyret.experiment.layout import CellRecord, ExperimentLayout
from polyret.experiment.spec import ExperimentSpec, Suite, spec_from_dict

MAP = "AP"  # LAReQA's mAP is the mean of per-query AP
BIAS = "rank_distance"
LAREQA_SETTINGS = ("mono", "cross", "multi")
BEIR_SETTING = "all"
# Published mE5-small nDCG@10 (MTEB, 512 tokens, original weights), percent.
MTEB_E5_SMALL = {"beir/nfcorpus": 31.1, "beir/scifact": 67.6, "beir/arguana": 39.1}


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# ------------------------------------------------------------------------------- accessors
def beir_metric(result: EvalResult, metric: str) -> float | None:
    """Aggregate ``metric`` over all queries of a run-based result (BEIR, BIRCO, ...)."""
    return result.metric(BEIR_SETTING, metric)


def beir_per_query(result: EvalResult, metric: str) -> dict[str, float]:
    """``query id -> score`` of a run-based result (empty when not kept)."""
    return {str(q): float(v) for q, v in result.scores(BEIR_SETTING, metric).items() if v is not None}


def lareqa_metric(result: EvalResult, setting: str, metric: str = MAP) -> float | None:
    """Macro ``metric`` of a LAReQA setting (mono, cross, multi)."""
    return result.metric(setting, metric)


def lareqa_bias(result: EvalResult) -> float | None:
    """Language bias: mean rank distance in the Multi pool (lower is better)."""
    return result.metric("bias", BIAS)


def pair_matrix(result: EvalResult, metric: str = MAP) -> tuple[list[str], list[list[float]]]:
    """Languages and the query-language x candidate-language matrix of ``metric`` (NaN = absent)."""
    table = result.pairs.get("metrics", {}).get(metric) or {}
    langs = sorted(set(table) | {y for row in table.values() for y in row})
    rows = [[_num(table.get(x, {}).get(y)) for y in langs] for x in langs]
    return langs, [[math.nan if v is None else v for v in row] for row in rows]


def self_hits_removed(result: EvalResult) -> int | None:
    value = result.extra.get("run_rules", {}).get("self_hits_removed")
    return None if value is None else int(value)


def subset_ids(prereg: dict[str, Any], task: str, subset: str) -> list[str] | None:
    """Pre-registered query ids of one subset of one task; ``None`` when not registered."""
    entry = prereg.get("tasks", {}).get(task, {}).get("subsets", {}).get(subset)
    if entry is None:
        return None
    return [str(q) for q in entry.get("query_ids", [])]


# ------------------------------------------------------------------------------- experiment
@dataclass
class ExperimentData:
    """Everything the report reads, plus what is missing."""

    root: Path
    spec: ExperimentSpec
    layout: ExperimentLayout
    cells: dict[str, list[CellRecord]]  # arm or reference -> done cells (trained: sorted by seed)
    results: dict[str, dict[str, EvalResult]]  # cell id -> suite slug -> result
    prereg: dict[str, Any]
    manifest: dict[str, Any]
    all_cells: list[CellRecord] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def rows(self) -> list[str]:
        """Arms, then references, in config order."""
        return self.spec.arm_names + list(self.spec.references)

    def suites_of(self, name: str) -> list[Suite]:
        """Suites a row is evaluated on (BM25: BEIR only)."""
        return [s for s in self.spec.suites if name != "bm25" or not s.is_lareqa]

    def runs(self, name: str, slug: str) -> list[EvalResult]:
        """Results of ``name`` (one per seed, seed order) on one suite; missing ones left out."""
        return [result for _, result in self.seed_runs(name, slug)]

    def seed_runs(self, name: str, slug: str) -> list[tuple[int | None, EvalResult]]:
        """``(seed, result)`` of ``name`` on one suite, seed order (references: seed None)."""
        out = []
        for cell in self.cells.get(name, []):
            result = self.results.get(cell.cell_id, {}).get(slug)
            if result is not None:
                out.append((cell.seed, result))
        return out

    def subsets(self, task: str) -> dict[str, list[str] | None]:
        """``"all"`` (the pre-registered query ids where the pre-registration lists them, as for BIRCO;
        else None = every query) and each pre-registered subset's query ids."""
        listed = self.prereg.get("tasks", {}).get(task, {}).get("query_ids")
        out: dict[str, list[str] | None] = {"all": [str(q) for q in listed] if listed else None}
        for name in self.spec.preregistration.subsets:
            ids = subset_ids(self.prereg, task, name)
            if ids is not None:
                out[name] = ids
        return out


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: damaged JSON ({exc})") from None


def read_spec(layout: ExperimentLayout) -> ExperimentSpec:
    import yaml

    path = layout.spec_file
    if not path.is_file():
        raise UserError(f"{layout.root}: not an experiment folder (no experiment.yaml)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: invalid YAML ({exc})") from None
    return spec_from_dict(raw, source=str(path))


def load_experiment(root: str | Path) -> ExperimentData:
    """Read an experiment folder (a partial grid is fine: what is missing is listed)."""
    layout = ExperimentLayout(root)
    spec = read_spec(layout)
    all_cells = list(layout.cells())
    data = ExperimentData(Path(root), spec, layout, {}, {}, _read_json(layout.preregistration_file),
                          _read_json(layout.manifest_file), all_cells)
    _group_cells(data)
    for cells in data.cells.values():
        for cell in cells:
            data.results[cell.cell_id] = layout.results(cell.cell_id)
    _list_missing(data)
    return data


def _group_cells(data: ExperimentData) -> None:
    spec = data.spec
    done = [c for c in data.all_cells if c.status == "done"]
    for arm in spec.arm_names:
        chosen = []
        for seed in spec.seeds:
            match = [c for c in done if c.arm == arm and c.kind == "trained" and c.seed == seed]
            if len(match) > 1:
                data.missing.append(f"{arm} seed {seed}: {len(match)} finished cells "
                                    f"({', '.join(c.cell_id for c in match)}); the last is used")
            if match:
                chosen.append(match[-1])
            else:
                state = [c.status for c in data.all_cells if c.arm == arm and c.seed == seed]
                data.missing.append(f"cell {arm} seed {seed}: " + (f"not finished (status {state[-1]})"
                                                                 if state else "not run"))
        data.cells[arm] = chosen
    for ref in spec.references:
        match = [c for c in done if c.arm == ref and c.kind == "reference"]
        if match:
            data.cells[ref] = [match[-1]]
        else:
            data.missing.append(f"reference {ref}: not run")
            data.cells[ref] = []


def _list_missing(data: ExperimentData) -> None:
    for name in data.rows:
        for cell in data.cells.get(name, []):
            have = data.results.get(cell.cell_id, {})
            lost = [s.task for s in data.suites_of(name) if s.slug not in have]
            if lost:
                data.missing.append(f"{cell.cell_id}: no result for {', '.join(lost)}")
    if not data.prereg:
        data.missing.append("preregistration.json: missing (subset rows cannot be computed)")
    else:
        for task in data.spec.tested_tasks:
            for name in data.spec.preregistration.subsets:
                if subset_ids(data.prereg, task, name) is None:
                    data.missing.append(f"pre-registration: no subset {name!r} for {task}")
