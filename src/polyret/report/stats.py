"""Paired statistics of one comparison (arm a - arm b) over per-query scores: pure, seeded.

Method (stated in the report, :data:`METHOD`): for each dataset x subset and metric, each arm's
per-query scores are first **averaged over its seeds** (a query must be scored in every seed);
the two arms are paired by query id and d = a - b per query. Reported: the mean difference, a 95 %
paired bootstrap percentile CI over queries, a two-sided paired randomization (sign-flip) p-value,
the effect size d_z = mean(d) / sd(d), and the **spread over seeds**: the per-seed mean differences
(seeds paired by seed number; a single-run reference is paired with every seed) as mean +- std.
Holm's correction is applied over the pre-registered family (primary comparison x primary metric x
every dataset x subset); any other row is corrected within its own comparison x metric family and
labelled secondary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import rankdata

from polyret.evaluation.significance import bootstrap_test, cohens_d_paired, holm, randomization_test

METHOD = (
    "Per-query scores of each arm are averaged over its seeds, then paired by query id "
    "(d = a - b). Mean difference with a 95 % paired bootstrap percentile CI over queries "
    "({boot} resamples), a two-sided paired randomization (sign-flip) test ({perm} permutations; "
    "exact when 2^n is smaller), effect size d_z = mean(d) / sd(d). Holm's correction over the "
    "pre-registered family (primary comparison x {metric} x every dataset x subset, m = {m}). The "
    "spread over seeds is the mean +- std of the per-seed mean differences (seeds paired by seed "
    "number; a single-run reference is paired with every seed)."
)

Scores = dict[str, float]  # query id -> score


@dataclass
class DiffRow:
    """One comparison on one dataset x subset x metric."""

    comparison: str
    task: str
    subset: str
    metric: str
    n: int
    mean_a: float = math.nan
    mean_b: float = math.nan
    diff: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p: float = math.nan
    p_holm: float = math.nan
    d_z: float = math.nan
    seed_diffs: tuple[float, ...] = ()
    family: str = "secondary"  # "primary" (the pre-registered Holm family) | "secondary"
    note: str = ""

    @property
    def seed_mean(self) -> float:
        return float(np.mean(self.seed_diffs)) if self.seed_diffs else math.nan

    @property
    def seed_std(self) -> float:
        return float(np.std(self.seed_diffs, ddof=1)) if len(self.seed_diffs) > 1 else math.nan

    def significant(self, level: float) -> bool:
        return not math.isnan(self.p_holm) and self.p_holm < level

    def to_dict(self) -> dict:
        return {**asdict(self), "seed_mean": self.seed_mean, "seed_std": self.seed_std}


def common_queries(runs: Sequence[Scores], ids: Sequence[str] | None = None) -> list[str]:
    """Query ids scored in every run (restricted to ``ids`` when given), sorted."""
    if not runs:
        return []
    keep = set(runs[0]).intersection(*runs[1:])
    if ids is not None:
        keep &= {str(q) for q in ids}
    return sorted(keep)


def seed_average(runs: Sequence[Scores], queries: Sequence[str]) -> np.ndarray:
    """(n,) per-query mean over seeds."""
    return np.array([[run[q] for q in queries] for run in runs], dtype=np.float64).mean(axis=0)


def seed_differences(runs_a: Sequence[Scores], runs_b: Sequence[Scores], queries: Sequence[str],
                     pairs: Sequence[tuple[int, int]] | None = None) -> list[float]:
    """Per-seed mean difference over ``queries``, for the run index ``pairs`` given (default: seeds
    paired by index; a single run pairs with every seed)."""
    if pairs is not None:
        return [float(np.mean([runs_a[i][q] - runs_b[j][q] for q in queries])) for i, j in pairs]
    if len(runs_a) == 1 or len(runs_b) == 1:
        pairs = [(a, b) for a in runs_a for b in runs_b]
    else:
        pairs = list(zip(runs_a, runs_b, strict=False))
    return [float(np.mean([a[q] - b[q] for q in queries])) for a, b in pairs]


def paired_difference(runs_a: Sequence[Scores], runs_b: Sequence[Scores], ids: Sequence[str] | None = None,
                      *, permutations: int = 10_000, bootstrap: int = 10_000, seed: int = 0,
                      label: tuple[str, str, str, str] = ("", "", "", ""),
                      seed_pairs: Sequence[tuple[int, int]] | None = None) -> DiffRow:
    """Seed-averaged paired difference a - b over the queries both arms scored (see module doc)."""
    queries = common_queries([*runs_a, *runs_b], ids)
    row = DiffRow(*label, n=len(queries))
    if not queries:
        row.note = "no common queries"
        return row
    a, b = seed_average(runs_a, queries), seed_average(runs_b, queries)  # (n,), (n,)
    row.mean_a, row.mean_b, row.diff = float(a.mean()), float(b.mean()), float((a - b).mean())
    row.seed_diffs = tuple(seed_differences(runs_a, runs_b, queries, seed_pairs))
    if len(queries) < 2:
        row.note = "too few queries for a test"
        return row
    boot = bootstrap_test(a, b, n_resamples=bootstrap, seed=seed)
    row.ci_low, row.ci_high = boot.ci_low, boot.ci_high
    row.p = randomization_test(a, b, n_resamples=permutations, seed=seed)
    row.d_z = effect_size(a, b)
    if ids is not None and len(queries) < len(set(ids)):
        row.note = f"{len(queries)} of {len(set(ids))} registered queries scored"
    return row


def effect_size(a: np.ndarray, b: np.ndarray) -> float:
    """d_z (``cohens_d_paired``); differences equal up to float noise give 0 or +-inf, not 1e15."""
    d = a - b  # (n,)
    if float(np.ptp(d)) <= 1e-12 * max(1.0, float(np.abs(d).max())):
        mean = float(d.mean())
        return 0.0 if abs(mean) <= 1e-12 else math.copysign(math.inf, mean)
    return cohens_d_paired(a, b)


def apply_holm(rows: Sequence[DiffRow]) -> None:
    """Holm-adjust the p-values of ``rows`` (one family) in place; untestable rows stay NaN."""
    testable = [r for r in rows if not math.isnan(r.p)]
    if not testable:
        return
    for row, adjusted in zip(testable, holm([r.p for r in testable]), strict=True):
        row.p_holm = float(adjusted)


def correct(rows: Sequence[DiffRow], primary: tuple[str, str] | None, correction: str = "holm") -> None:
    """Mark the pre-registered family (``(comparison, metric)``) and correct every family in place."""
    families: dict[tuple[str, str], list[DiffRow]] = {}
    for row in rows:
        key = (row.comparison, row.metric)
        row.family = "primary" if key == primary else "secondary"
        families.setdefault(key, []).append(row)
    for family in families.values():
        if correction == "holm":
            apply_holm(family)
        else:
            for row in family:
                row.p_holm = row.p


def verdict(rows: Sequence[DiffRow], a: str, b: str, metric: str, level: float) -> str:
    """One sentence on what the primary family supports; never stronger than the numbers."""
    tested = [r for r in rows if not math.isnan(r.p_holm)]
    if not tested:
        return f"No paired test of {a} - {b} on {metric} could be computed (results are missing)."
    m = len(tested)
    better = [r for r in tested if r.significant(level) and r.diff > 0]
    worse = [r for r in tested if r.significant(level) and r.diff < 0]
    if not better and not worse:
        top = max(tested, key=lambda r: abs(r.diff))
        return (f"No significant difference: on none of the {m} pre-registered dataset x subset cells "
                f"does {a} differ from {b} in {metric} after Holm correction (alpha = {level:g}); the "
                f"largest observed difference is {top.diff:+.4f} (95 % CI {top.ci_low:+.4f} to "
                f"{top.ci_high:+.4f}) on {top.task} / {top.subset}.")
    parts = []
    if better:
        parts.append(f"{a} scores higher than {b} on {len(better)} of {m} cells ({_cells(better)})")
    if worse:
        parts.append(f"lower on {len(worse)} of {m} ({_cells(worse)})")
    rest = m - len(better) - len(worse)
    tail = f"; no significant difference on the other {rest}" if rest else ""
    return f"After Holm correction (alpha = {level:g}) in {metric}, " + " and ".join(parts) + tail + "."


def _cells(rows: Sequence[DiffRow]) -> str:
    return ", ".join(f"{r.task} / {r.subset} {r.diff:+.4f}, p_holm = {r.p_holm:.3g}" for r in rows)


def mean_std(values: Sequence[float | None]) -> tuple[float, float, int]:
    """Mean, sample std (NaN for one value) and count of the non-missing values."""
    vals = [float(v) for v in values if v is not None and not math.isnan(v)]
    if not vals:
        return math.nan, math.nan, 0
    std = float(np.std(vals, ddof=1)) if len(vals) > 1 else math.nan
    return float(np.mean(vals)), std, len(vals)


def subset_mean(scores: Scores, ids: Sequence[str] | None) -> float | None:
    """Mean per-query score over ``ids`` (all queries when None); None when no query is scored."""
    keys = list(scores) if ids is None else [q for q in ids if q in scores]
    return float(np.mean([scores[q] for q in keys])) if keys else None


def mean_ranks(means: Sequence[Sequence[float]], digits: int = 3) -> list[float]:
    """Each row's rank per column (1 = highest value, ties share the average rank), averaged over the
    columns; values are compared as shown (rounded to ``digits``); NaN for a row missing any column."""
    shown = np.round(np.asarray(means, dtype=float), digits)  # (rows, columns)
    ranks = rankdata(-shown, axis=0, nan_policy="omit")  # (rows, columns), NaN where a value is missing
    return [float(r) for r in ranks.mean(axis=1)]
