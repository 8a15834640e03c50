"""Compare result documents of one task: metric deltas with paired tests, Holm-corrected.

The first result is the baseline. For every other system, every setting and metric kept per query
(and, on BEIR/BRIGHT, every complex-query subset for the subset metrics), the per-query scores of
the queries both results hold are compared with a paired test. Holm's correction runs over all the
comparisons of the report (every row it prints), so the family is explicit. A subset holding every
query (a dataset group on its own dataset) repeats the ``all`` row and is left out.

Caveat: ``bm25-failure`` is selected by BM25's own zero scores, so BM25 scores 0 on it by
construction; a system compared with BM25 there gains from that selection. Compare two non-BM25
systems on it (both against the same, independent reference).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from polyret.evaluation.results import EvalResult
from polyret.evaluation.significance import compare_paired, holm

SUBSET_METRICS = ("nDCG@10",)


@dataclass
class ComparisonRow:
    system: str
    setting: str  # "mono" / "multi" / "all" / "subset:long" ...
    metric: str
    n: int
    mean_a: float
    mean_b: float
    delta: float
    cohens_d: float
    p_value: float
    p_holm: float
    ci_low: float
    ci_high: float


def _label(result: EvalResult, i: int) -> str:
    return f"{result.model_name}#{i}"


def compare_results(
    results: list[EvalResult],
    test: str = "randomization",
    n_resamples: int = 10_000,
    seed: int = 0,
    metrics: list[str] | None = None,
    subset_metrics: tuple[str, ...] = SUBSET_METRICS,
) -> list[ComparisonRow]:
    """Rows of (system vs baseline) comparisons; p-values Holm-adjusted over all rows."""
    if len(results) < 2:
        raise ValueError("compare needs at least two results (the first is the baseline)")
    base = results[0]
    for r in results[1:]:
        if r.task != base.task:
            raise ValueError(f"results are for different tasks: {base.task!r} vs {r.task!r}")
    names = [r.model_name for r in results]
    labels = [
        n if names.count(n) == 1 else _label(r, i)
        for i, (n, r) in enumerate(zip(names, results, strict=True))
    ]
    pending: list[tuple[str, str, str, np.ndarray, np.ndarray]] = []
    for label, other in zip(labels[1:], results[1:], strict=True):
        for setting, cols in base.per_query.items():
            for metric, a_vals in cols.items():
                if metrics and metric not in metrics:
                    continue
                b_vals = other.per_query.get(setting, {}).get(metric)
                if not b_vals:
                    continue
                common = sorted(set(a_vals) & set(b_vals))
                if common:
                    pending.append(
                        (
                            label,
                            setting,
                            metric,
                            np.array([a_vals[q] for q in common], float),
                            np.array([b_vals[q] for q in common], float),
                        )
                    )
        n_all = len(base.per_query.get("all", {}).get(subset_metrics[0], {})) if subset_metrics else 0
        for sub_name, sub in base.subsets.items():
            ids = sub.get("queries")
            if not ids or len(ids) >= n_all:  # empty, or the whole dataset (a group): already a row
                continue
            for metric in subset_metrics:
                a_vals = base.per_query.get("all", {}).get(metric, {})
                b_vals = other.per_query.get("all", {}).get(metric, {})
                common = sorted(q for q in ids if q in a_vals and q in b_vals)
                if common:
                    pending.append(
                        (
                            label,
                            f"subset:{sub_name}",
                            metric,
                            np.array([a_vals[q] for q in common], float),
                            np.array([b_vals[q] for q in common], float),
                        )
                    )
    stats = [compare_paired(a, b, test=test, n_resamples=n_resamples, seed=seed) for *_, a, b in pending]
    adjusted = holm([s.p_value for s in stats]) if stats else []
    return [
        ComparisonRow(
            label,
            setting,
            metric,
            s.n,
            s.mean_a,
            s.mean_b,
            s.delta,
            s.cohens_d,
            s.p_value,
            float(p),
            s.ci_low,
            s.ci_high,
        )
        for (label, setting, metric, _, _), s, p in zip(pending, stats, adjusted, strict=True)
    ]
