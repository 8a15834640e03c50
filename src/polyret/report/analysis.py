"""The report's numbers: comparison rows (:mod:`polyret.stats`) and per-seed column values."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from polyret.errors import UserError
from polyret.experiment.spec import Comparison
from polyret.report import collect
from polyret.report.collect import ExperimentData
from polyret.report.stats import subset_mean
from polyret.stats.difference import Difference, compare_arms, correct


@dataclass(frozen=True)
class Column:
    """One column of the main table: a value per result dict."""

    key: str  # stable id, e.g. "xquad-r:multi" or "beir-scifact:long"
    label: str
    slug: str
    kind: str  # "lareqa" | "bias" | "beir"
    setting: str  # LAReQA setting, or BEIR subset name
    lower_is_better: bool = False


def main_columns(data: ExperimentData) -> list[Column]:
    """XQuAD-R / MLQA-R Mono, Cross, Multi mAP and bias; BEIR nDCG@10 on all and each subset."""
    metric = data.spec.preregistration.primary_metric
    cols: list[Column] = []
    for suite in data.spec.suites:
        name = suite.task.upper() if suite.is_lareqa else suite.task.split("/", 1)[1]
        if suite.is_lareqa:
            cols += [Column(f"{suite.slug}:{s}", f"{name} {s.capitalize()} mAP", suite.slug, "lareqa", s)
                     for s in collect.LAREQA_SETTINGS]
            cols.append(Column(f"{suite.slug}:bias", f"{name} bias (rank dist.)", suite.slug, "bias", "bias",
                               lower_is_better=True))
        elif suite.task.startswith("beir/"):
            cols += [Column(f"{suite.slug}:{sub}", f"{name} {metric} ({sub})", suite.slug, "beir", sub)
                     for sub in data.subsets(suite.task)]
    return cols


def column_values(data: ExperimentData, name: str, col: Column) -> list[float | None]:
    """One value per seed (per run) of row ``name`` in ``col``; [] when not evaluated."""
    suite = next(s for s in data.spec.suites if s.slug == col.slug)
    if name == "bm25" and suite.is_lareqa:
        return []
    runs = data.runs(name, col.slug)
    if col.kind == "lareqa":
        return [collect.lareqa_metric(r, col.setting) for r in runs]
    if col.kind == "bias":
        return [collect.lareqa_bias(r) for r in runs]
    metric = data.spec.preregistration.primary_metric
    if col.setting == "all":
        return [collect.beir_metric(r, metric) for r in runs]
    ids = data.subsets(suite.task)[col.setting]
    return [subset_mean(collect.beir_per_query(r, metric), ids) for r in runs]


BM25_SUBSET = "bm25-failure"  # defined by BM25's own zero scores: never compared against BM25


def arm_scores(data: ExperimentData, name: str, slug: str, metric: str) -> list[tuple[str, dict[str, Any]]]:
    """``(result file, query id -> raw score)`` of every run of ``name`` on one suite, seed order."""
    out = []
    for cell in data.cells.get(name, []):
        result = data.results.get(cell.cell_id, {}).get(slug)
        if result is None:
            continue
        scores = result.per_query.get(collect.BEIR_SETTING, {}).get(metric) or {}  # raw: checked() below
        out.append((str(data.layout.result_file(cell.cell_id, slug)), scores))
    return out


def checked(runs: list[tuple[str, dict[str, Any]]], ids: list[str], metric: str) -> list[dict[str, float]]:
    """The runs' scores of ``ids``: a query id missing, or a score that is null / NaN / inf, is an error
    naming the file and the query (never a smaller family or a dropped query)."""
    out = []
    for path, scores in runs:
        got = {}
        for q in ids:
            if q not in scores:
                raise UserError(f"{path}: query {q!r} has no {metric} score (pre-registered or scored by "
                                "the other runs); the comparison needs every query")
            value = scores[q]
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise UserError(f"{path}: query {q!r}: {metric} = {value!r} is not a finite number")
            got[q] = float(value)
        out.append(got)
    return out


def _query_ids(runs: list[tuple[str, dict[str, Any]]], ids: list[str] | None) -> list[str]:
    """Pre-registered ids, or (``all``) the ids of the first run, which every run must score."""
    return sorted({str(q) for q in ids}) if ids is not None else sorted(str(q) for q in runs[0][1])


def difference_rows(data: ExperimentData, comparisons: Sequence[Comparison], metrics: Sequence[str],
                    seed: int = 0) -> list[Difference]:
    """Every comparison x metric x (BEIR dataset and, when pooled, all datasets) x query set; the
    pre-registered family marked, Holm-corrected per family (:func:`polyret.stats.difference.correct`)."""
    pre = data.spec.preregistration
    primary = pre.primary_comparison
    rows: list[Difference] = []
    for comp in comparisons:
        bm25 = "bm25" in (comp.a, comp.b)
        for metric in metrics:
            strata_by_subset: dict[str, list] = {}
            for task in data.spec.tested_tasks:
                slug = task.replace("/", "-")
                runs_a = arm_scores(data, comp.a, slug, metric)
                runs_b = arm_scores(data, comp.b, slug, metric)
                for subset, ids in data.subsets(task).items():
                    if bm25 and subset == BM25_SUBSET:
                        continue
                    label = (comp.label, task, subset, metric)
                    if not runs_a or not runs_b:
                        rows.append(Difference(*label, n=0, note="results missing"))
                        continue
                    queries = _query_ids(runs_a, ids)
                    stratum = (checked(runs_a, queries, metric), checked(runs_b, queries, metric), queries)
                    strata_by_subset.setdefault(subset, []).append(stratum)
                    rows.append(compare_arms([stratum], label, margin=pre.equivalence_margin,
                                             bootstrap=pre.bootstrap, seed=seed))
            if pre.pooled:
                k = len(data.spec.tested_tasks)
                for subset, strata in strata_by_subset.items():
                    label = (comp.label, f"pooled ({len(strata)} of {k} tasks)", subset, metric)
                    if len({(len(a), len(b)) for a, b, _ in strata}) > 1:  # a seed missing on a task
                        rows.append(Difference(*label, n=0, note="unbalanced: some seed has no result on "
                                                                 "some task; pooled test not computed"))
                        continue
                    rows.append(compare_arms(strata, label, margin=pre.equivalence_margin,
                                             bootstrap=pre.bootstrap, seed=seed))
    for row in rows:
        row.family = _family(row, primary, pre.primary_metric, pre.pooled)
    correct(rows)
    return rows


def _family(row: Difference, primary: Comparison | None, metric: str, pooled: bool) -> str:
    """``primary`` (the pre-registered Holm family), ``per-task`` (pooled designs: the primary
    comparison's per-task cells, a secondary family of their own) or ``secondary``."""
    if primary is None or row.comparison != primary.label or row.metric != metric:
        return "secondary"
    if not pooled:
        return "primary"
    return "primary" if row.task.startswith("pooled") else "per-task"


def comparison_rows(data: ExperimentData, seed: int = 0) -> list[Difference]:
    """The report's rows: every pre-registered comparison x (primary + secondary metrics)."""
    pre = data.spec.preregistration
    metrics = [pre.primary_metric, *[m for m in pre.secondary_metrics if m != pre.primary_metric]]
    return difference_rows(data, pre.comparisons, metrics, seed)


def alpha_of(data: ExperimentData, arm_name: str) -> float | None:
    """An arm's mono share: hybrid alpha; mono = 1, cross = 0; None otherwise."""
    arm = data.spec.arm(arm_name)
    if arm.strategy == "mono":
        return 1.0
    if arm.strategy == "cross":
        return 0.0
    return arm.alpha
