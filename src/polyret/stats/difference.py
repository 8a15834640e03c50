"""The one comparison result type, :class:`Difference` (treatment - reference), and how it is filled.

:func:`compare_arms` takes, per task, the per-seed per-query scores of a treatment arm and a reference
arm over a fixed list of query ids and returns a :class:`Difference` with

- the **primary, seed-aware** analysis (:mod:`polyret.stats.crossed`): estimate, SE, Satterthwaite df,
  95 % CI, two-sided p and, given a margin, the TOST equivalence p. With one run per arm it is the
  paired t-test over queries (the model has no seed term then);
- the **secondary, query-level** view: per-query differences of seed means, a paired bootstrap
  percentile CI, the sign-flip p (exact for n <= 20, else Monte Carlo with its error) and d_z.

:func:`correct` applies Holm within each family to p, TOST p and the query-level p.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from polyret.stats.crossed import Stratum, crossed_difference
from polyret.stats.resampling import bootstrap_ci, effect_size, holm, sign_flip_p

Scores = dict[str, float]  # query id -> score
DIFFERENCE, EQUIVALENT, INCONCLUSIVE = "difference", "equivalent", "inconclusive"


@dataclass
class Difference:
    """``treatment - reference`` on one task (or pooled over tasks) x query set x metric."""

    comparison: str  # "hybrid - cross"
    task: str  # a task, or "pooled (k tasks)"
    subset: str
    metric: str
    n: int  # queries
    seeds_a: int = 0
    seeds_b: int = 0
    mean_a: float = math.nan
    mean_b: float = math.nan
    diff: float = math.nan
    se: float = math.nan
    df: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p: float = math.nan
    p_holm: float = math.nan
    margin: float | None = None
    tost_p: float = math.nan
    tost_p_holm: float = math.nan
    se_query: float = math.nan
    q_ci_low: float = math.nan
    q_ci_high: float = math.nan
    q_p: float = math.nan
    q_p_error: float = math.nan  # Monte Carlo error of q_p (0: exact)
    q_p_holm: float = math.nan
    d_z: float = math.nan
    family: str = "secondary"
    direction: str = "higher"  # which way is better for the metric
    note: str = ""

    @property
    def seed_aware(self) -> bool:
        return max(self.seeds_a, self.seeds_b) >= 2

    def significant(self, level: float) -> bool:
        return not math.isnan(self.p_holm) and self.p_holm < level

    def equivalent(self, level: float) -> bool:
        return not math.isnan(self.tost_p_holm) and self.tost_p_holm < level

    def outcome(self, level: float) -> str:
        """``difference`` (Holm p < level), ``equivalent`` (Holm TOST p < level) or ``inconclusive``."""
        if self.significant(level):
            return DIFFERENCE
        return EQUIVALENT if self.equivalent(level) else INCONCLUSIVE

    def to_dict(self) -> dict:
        return asdict(self)


def compare_arms(strata: Sequence[tuple[Sequence[Scores], Sequence[Scores], Sequence[str]]],
                 label: tuple[str, str, str, str], *, margin: float | None = None,
                 bootstrap: int = 10_000, seed: int = 0) -> Difference:
    """``(runs_a, runs_b, query_ids)`` per task (every id scored, finite, in every run) -> Difference.

    Tasks are pooled with equal weights; seeds are taken in the order given (the same order on every
    task), never matched across arms."""
    arrays = [(np.array([[run[q] for q in ids] for run in runs_a], dtype=np.float64),  # (S_a, n)
               np.array([[run[q] for q in ids] for run in runs_b], dtype=np.float64))  # (S_b, n)
              for runs_a, runs_b, ids in strata]
    n = sum(a.shape[1] for a, _ in arrays)
    row = Difference(*label, n=n, seeds_a=arrays[0][0].shape[0], seeds_b=arrays[0][1].shape[0], margin=margin)
    weights = [1.0 / len(arrays)] * len(arrays)
    row.mean_a = float(sum(w * a.mean() for w, (a, _) in zip(weights, arrays, strict=True)))
    row.mean_b = float(sum(w * b.mean() for w, (_, b) in zip(weights, arrays, strict=True)))
    if any(a.shape[1] < 2 for a, _ in arrays):
        row.diff = row.mean_a - row.mean_b
        row.note = "too few queries for a test"
        return row
    est = crossed_difference([Stratum(a, b, w) for w, (a, b) in zip(weights, arrays, strict=True)])
    row.diff, row.se, row.df, row.se_query = est.estimate, est.se, est.df, est.se_query
    row.ci_low, row.ci_high = est.ci()
    row.p = est.p_value()
    if margin is not None:
        row.tost_p = est.tost_p(margin)
    # query-level view: x_q = N * w_t / n_t * dbar_q, so mean(x) is the pooled difference
    x = np.concatenate([n * w / a.shape[1] * (a.mean(axis=0) - b.mean(axis=0))
                        for w, (a, b) in zip(weights, arrays, strict=True)])  # (N,)
    row.q_ci_low, row.q_ci_high = bootstrap_ci(x, n_resamples=bootstrap, seed=seed)
    row.q_p, row.q_p_error, _ = sign_flip_p(x, seed=seed)
    row.d_z = effect_size(x) if len(arrays) == 1 else math.nan
    return row


def family_key(row: Difference) -> tuple:
    """The report's Holm groups: the primary family as one; any other by family x comparison x metric."""
    return ("primary",) if row.family == "primary" else (row.family, row.comparison, row.metric)


def correct(rows: Sequence[Difference], key: Callable[[Difference], Hashable] = family_key) -> None:
    """Holm within each group of ``key``, in place, for p, the TOST p and the query-level p."""
    groups: dict[Hashable, list[Difference]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    for group in groups.values():
        for p_name, adj_name in (("p", "p_holm"), ("tost_p", "tost_p_holm"), ("q_p", "q_p_holm")):
            tested = [r for r in group if not math.isnan(getattr(r, p_name))]
            if tested:
                for r, adj in zip(tested, holm([getattr(r, p_name) for r in tested]), strict=True):
                    setattr(r, adj_name, float(adj))
