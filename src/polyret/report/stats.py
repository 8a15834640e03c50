"""The report's wording of the statistics (method text, the one-sentence answer) and its small
descriptive helpers (mean +- std over seeds, subset means, mean ranks). The tests themselves live in
:mod:`polyret.stats`."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

from polyret.stats.difference import DIFFERENCE, EQUIVALENT, Difference

METHOD = (
    "Primary (seed-aware): per query and seed, the scores of both arms enter a crossed random-effects "
    "model (query and training seed random, arm fixed; seeds nested in their arm, never paired by "
    "number), estimated by the exact balanced ANOVA; the difference a - b has a t-based 95 % CI and "
    "two-sided p with Satterthwaite degrees of freedom{pooled}. Holm's correction over the "
    "pre-registered family (primary comparison x {metric} x {cells}, m = {m}). {equivalence} "
    "Secondary (query-level): per-query differences of seed means with a 95 % paired bootstrap "
    "percentile CI ({boot} resamples), a two-sided sign-flip p (exact for n <= 20 queries, else Monte "
    "Carlo until its 99 % error is <= 0.005) and d_z = mean(d) / sd(d); it leaves the seed variance out."
)


ONE_RUN = ("With one run per arm the model has no seed term, so the primary analysis is the paired t-test "
           "over queries and the training seed's variance is not estimable (not counted). ")


def method_text(metric: str, m: int, boot: int, margin: float | None, pooled: bool,
                seed_aware: bool = True) -> str:
    """:data:`METHOD` filled in for one report (``seed_aware``: some arm has >= 2 seeds)."""
    equivalence = (f"Equivalence: two one-sided tests (TOST) against the pre-registered margin "
                   f"+-{margin:g} from the same model, Holm-corrected over the same family; a cell is "
                   f"'equivalent' when the corrected TOST p < alpha." if margin is not None else
                   "No equivalence margin was pre-registered, so a non-significant cell is inconclusive.")
    pooling = "; tasks pooled with equal weights (task fixed, query nested in task)" if pooled else ""
    cells = "query set, pooled over tasks" if pooled else "dataset x query set"
    return ("" if seed_aware else ONE_RUN) + METHOD.format(
        pooled=pooling, metric=metric, cells=cells, m=m, equivalence=equivalence, boot=boot)


def verdict(rows: Sequence[Difference], a: str, b: str, metric: str, level: float,
            margin: float | None = None) -> str:
    """One sentence with three outcomes: difference, equivalence within the margin, inconclusive."""
    tested = [r for r in rows if not math.isnan(r.p_holm)]
    if not tested:
        return f"No test of {a} - {b} on {metric} could be computed (results are missing)."
    m = len(tested)
    seeds = any(r.seed_aware for r in tested)
    kind = "seed-aware (queries and seeds random)" if seeds else "one run per arm: paired t over queries"
    head = (f"After Holm correction over the {m} pre-registered cell{'s' if m > 1 else ''} ({kind}, "
            f"alpha = {level:g}) in {metric}: ")
    higher = [r for r in tested if r.outcome(level) == DIFFERENCE and r.diff > 0]
    lower = [r for r in tested if r.outcome(level) == DIFFERENCE and r.diff < 0]
    same = [r for r in tested if r.outcome(level) == EQUIVALENT]
    rest = [r for r in tested if r not in higher + lower + same]
    parts = []
    if higher:
        parts.append(f"{a} scores higher than {b} on {_count(higher, m)} ({_cells(higher)})")
    if lower:
        parts.append(f"{a} scores lower than {b} on {_count(lower, m)} ({_cells(lower)})")
    if same:
        parts.append(f"no difference larger than +-{margin:g} (equivalent) on {_count(same, m)} "
                     f"({_where(same)})")
    if rest:
        top = max(rest, key=lambda r: max(abs(r.ci_low), abs(r.ci_high)))
        why = (f"the 95 % CI is too wide to tell a difference from equivalence within +-{margin:g}"
               if margin is not None else "no equivalence margin was pre-registered")
        parts.append(f"inconclusive on {_count(rest, m)} ({why}; widest: {top.diff:+.4f}, 95 % CI "
                     f"{top.ci_low:+.4f} to {top.ci_high:+.4f} on {_name(top)})")
    return head + "; ".join(parts) + "."


def _count(rows: Sequence[Difference], m: int) -> str:
    if len(rows) < m:
        return f"{len(rows)} of {m}"
    return f"all {m}" if m > 1 else "the one cell"


def _name(r: Difference) -> str:
    return f"{r.task} / {r.subset}"


def _where(rows: Sequence[Difference]) -> str:
    return ", ".join(_name(r) for r in rows)


def _cells(rows: Sequence[Difference]) -> str:
    return ", ".join(f"{_name(r)} {r.diff:+.4f}, p_holm = {r.p_holm:.3g}" for r in rows)


def mean_std(values: Sequence[float | None]) -> tuple[float, float, int]:
    """Mean, sample std (NaN for one value) and count of the non-missing values."""
    vals = [float(v) for v in values if v is not None and not math.isnan(v)]
    if not vals:
        return math.nan, math.nan, 0
    std = float(np.std(vals, ddof=1)) if len(vals) > 1 else math.nan
    return float(np.mean(vals)), std, len(vals)


def subset_mean(scores: dict[str, float], ids: Sequence[str] | None) -> float | None:
    """Mean per-query score over ``ids`` (all queries when None); None when no query is scored."""
    keys = list(scores) if ids is None else [q for q in ids if q in scores]
    return float(np.mean([scores[q] for q in keys])) if keys else None


def mean_ranks(means: Sequence[Sequence[float]], digits: int = 3) -> list[float]:
    """Each row's rank per column (1 = highest value, ties share the average rank), averaged over the
    columns; values are compared as shown (rounded to ``digits``); NaN for a row missing any column."""
    shown = np.round(np.asarray(means, dtype=float), digits)  # (rows, columns)
    ranks = rankdata(-shown, axis=0, nan_policy="omit")  # (rows, columns), NaN where a value is missing
    return [float(r) for r in ranks.mean(axis=1)]
