"""Seed-aware analysis of an arm difference: queries and training seeds both random.

**Model.** Score of arm a, seed s, task t, query q:
``y = mu_at + q_tq + (aq)_atq + s_as + (st)_ast + e_astq``: arm x task fixed; query (nested in task),
the arm x query interaction, the training seed (nested in arm: seed 1 of one arm has nothing to do
with seed 1 of another, so seeds are **never paired by number**) and the residual random. The
estimand is the treatment - reference difference, pooled over tasks with equal weights (task fixed;
one task: the task's difference).

**Estimator (exact balanced ANOVA).** Every seed of an arm must score the same queries (polyret's
grids are balanced: same seeds count per arm, same query set per task); otherwise
:func:`crossed_difference` refuses (no mixed-model fit of unbalanced data is attempted). Then the
difference of arm means ``D`` is the least-squares (and REML) estimate and its variance is a linear
combination of independent mean squares; for one task with S seeds per arm and n queries it is the
classical ``Var(D) = 2 / (n S) * (MS_AQ + MS_S(A) - MS_E)``. In general:

``SE^2 = sum_t w_t^2 var_q(dbar_tq) / n_t  +  sum_a tau_a``, with
``tau_a = max(0, var_s(M_as) / S_a - sum_t w_t^2 MS_E(a,t) / (n_t S_a))``

where ``dbar_tq`` is the per-query difference of seed means, ``M_as`` arm a's seed s pooled mean
(weights w_t), ``MS_E(a,t)`` the seed x query residual mean square of arm a on task t. The first
term is what a query-only paired test uses; ``tau_a`` is the seed variance it leaves out (truncated
at 0, as REML would, so the seed-aware SE is never below the query-only one). An arm with a single
run (a reference such as BM25 or the zero-shot model) is fixed: no seed term. Degrees of freedom:
Satterthwaite over the mean squares used. CI and p: Student t with those df; equivalence: two
one-sided tests (TOST) against a margin from the same estimate and SE.

Why not statsmodels' MixedLM: with a balanced design the ANOVA estimator is exact and closed form,
has Satterthwaite df (MixedLM gives Wald z tests only), and needs no optimizer that can fail to
converge at 3 seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t


@dataclass(frozen=True)
class Stratum:
    """One task's scores: ``a`` (treatment) and ``b`` (reference) as (seeds, queries) arrays, columns
    the same queries in the same order; rows of an arm the same seeds in the same order in every stratum."""

    a: np.ndarray  # (S_a, n)
    b: np.ndarray  # (S_b, n)
    weight: float = 1.0


@dataclass(frozen=True)
class Term:
    """One mean square in SE^2 = sum(coef * value): its value, coefficient and degrees of freedom."""

    name: str
    value: float
    coef: float
    df: float


@dataclass(frozen=True)
class CrossedEstimate:
    estimate: float  # pooled mean(a) - mean(b)
    se: float  # seed-aware standard error
    df: float  # Satterthwaite degrees of freedom
    se_query: float  # the query-only SE (seed means paired by query; seed variance left out)
    terms: tuple[Term, ...]

    def ci(self, confidence: float = 0.95) -> tuple[float, float]:
        if self.se == 0:
            return self.estimate, self.estimate
        half = student_t.ppf(0.5 + confidence / 2, self.df) * self.se
        return self.estimate - half, self.estimate + half

    def p_value(self) -> float:
        """Two-sided p of difference = 0."""
        if self.se == 0:
            return 1.0 if self.estimate == 0 else 0.0
        return float(min(1.0, 2 * student_t.sf(abs(self.estimate) / self.se, self.df)))

    def tost_p(self, margin: float) -> float:
        """Two one-sided tests of |difference| >= margin (small p: equivalent within +-margin)."""
        if margin <= 0:
            raise ValueError(f"equivalence margin must be > 0, got {margin}")
        if self.se == 0:
            return 0.0 if abs(self.estimate) < margin else 1.0
        lower = student_t.sf((self.estimate + margin) / self.se, self.df)  # H0: diff <= -margin
        upper = student_t.cdf((self.estimate - margin) / self.se, self.df)  # H0: diff >= +margin
        return float(max(lower, upper))


def satterthwaite(terms: Sequence[Term]) -> float:
    """Satterthwaite df of sum(coef * value) over independent mean squares."""
    total = sum(t.coef * t.value for t in terms)
    denom = sum((t.coef * t.value) ** 2 / t.df for t in terms if t.df > 0)
    if total <= 0 or denom <= 0:
        return math.inf
    return float(total**2 / denom)


def residual_ms(y: np.ndarray) -> float:
    """Seed x query interaction mean square of one arm on one task, (S, n) -> scalar."""
    s, n = y.shape
    resid = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    return float((resid**2).sum() / ((s - 1) * (n - 1)))


def _check(strata: Sequence[Stratum]) -> None:
    if not strata:
        raise ValueError("no strata")
    for i, st in enumerate(strata):
        for side, y in (("a", st.a), ("b", st.b)):
            if y.ndim != 2 or y.shape[0] < 1 or y.shape[1] < 2:
                raise ValueError(f"stratum {i} arm {side}: need (seeds, queries >= 2) scores, got {y.shape}")
            if not np.all(np.isfinite(y)):
                raise ValueError(f"stratum {i} arm {side}: non-finite scores")
        if st.a.shape[1] != st.b.shape[1]:
            raise ValueError(f"stratum {i}: unbalanced (arms scored {st.a.shape[1]} vs {st.b.shape[1]} "
                             "queries)")
        if st.a.shape[0] != strata[0].a.shape[0] or st.b.shape[0] != strata[0].b.shape[0]:
            raise ValueError(f"stratum {i}: unbalanced (a different number of seeds than stratum 0)")


def crossed_difference(strata: Sequence[Stratum]) -> CrossedEstimate:
    """The seed-aware estimate of sum_t w_t (mean a - mean b) (weights normalised to sum 1)."""
    _check(strata)
    total_w = sum(st.weight for st in strata)
    w = [st.weight / total_w for st in strata]
    estimate = 0.0
    query_terms: list[Term] = []
    for wt, st in zip(w, strata, strict=True):
        dbar = st.a.mean(axis=0) - st.b.mean(axis=0)  # (n,)
        estimate += wt * float(dbar.mean())
        n = dbar.size
        query_terms.append(Term("query", float(dbar.var(ddof=1)), wt**2 / n, n - 1))
    seed_terms: list[Term] = []
    for side in ("a", "b"):
        ys = [getattr(st, side) for st in strata]
        seeds = ys[0].shape[0]
        if seeds < 2:  # a single run: fixed, no seed variance
            continue
        pooled = sum(wt * y.mean(axis=1) for wt, y in zip(w, ys, strict=True))  # (S,)
        arm = [Term(f"seed({side})", float(pooled.var(ddof=1)), 1 / seeds, seeds - 1)]
        arm += [Term(f"residual({side})", residual_ms(y), -(wt**2) / (y.shape[1] * seeds),
                     (seeds - 1) * (y.shape[1] - 1)) for wt, y in zip(w, ys, strict=True)]
        if sum(t.coef * t.value for t in arm) > 0:  # else the seed component is truncated at 0
            seed_terms += arm
    terms = tuple(query_terms + seed_terms)
    var_query = sum(t.coef * t.value for t in query_terms)
    var = sum(t.coef * t.value for t in terms)
    return CrossedEstimate(estimate, math.sqrt(max(var, 0.0)), satterthwaite(terms),
                           math.sqrt(max(var_query, 0.0)), terms)
