"""Power before running: the minimal detectable difference (MDD) of a planned cell.

Variance components of the seed-aware model (:mod:`polyret.stats.crossed`) are estimated from an
earlier experiment's cell (:func:`components`): per query, the arm x query interaction
``interaction = 2 sigma^2_aq`` and per arm the residual ``residual_a = sigma^2_e`` and the seed
variance ``seed_a = sigma^2_s``. For a planned cell with n queries and S seeds per arm

``SE^2 = (interaction + sum_a residual_a / S) / n + sum_a seed_a / S``

and the MDD at the given power, two-sided, at the first (strictest) Holm step of a family of m cells
(level alpha / m: a conservative bound, since Holm tests later cells at less strict levels) is

``MDD = (t_{1 - alpha / (2 m), df} + t_{power, df}) * SE``

with df by Satterthwaite over the planned mean squares (normal quantiles when df is infinite).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

from polyret.stats.crossed import Term, residual_ms, satterthwaite


@dataclass(frozen=True)
class Components:
    """Variance components of one cell (per query / per seed), score units squared."""

    interaction: float  # 2 sigma^2_aq: variance of a query's true a - b difference
    residual: tuple[float, float]  # sigma^2_e of arm a, arm b (seed x query noise)
    seed: tuple[float, float]  # sigma^2_s of arm a, arm b (a seed's shift of the mean)

    def scaled(self, other: Components, weight: float) -> Components:
        """``self + weight * other`` (pooling tasks)."""
        return Components(self.interaction + weight * other.interaction,
                          tuple(x + weight * y for x, y in zip(self.residual, other.residual, strict=True)),
                          tuple(x + weight * y for x, y in zip(self.seed, other.seed, strict=True)))


def components(a: np.ndarray, b: np.ndarray) -> Components:
    """Estimate from (S_a, n) and (S_b, n) scores (ANOVA / method of moments, truncated at 0)."""
    n = a.shape[1]
    residual, seed = [], []
    for y in (a, b):
        if y.shape[0] < 2:
            residual.append(0.0)
            seed.append(0.0)
            continue
        ms_e = residual_ms(y)
        residual.append(ms_e)
        seed.append(max(0.0, float(y.mean(axis=1).var(ddof=1)) - ms_e / n))
    dbar = a.mean(axis=0) - b.mean(axis=0)  # (n,)
    interaction = max(0.0, float(dbar.var(ddof=1)) - residual[0] / a.shape[0] - residual[1] / b.shape[0])
    return Components(interaction, (residual[0], residual[1]), (seed[0], seed[1]))


def mean_components(parts: Sequence[Components]) -> Components:
    """The average of several cells' components (borrowing for a task without a pilot)."""
    zero = Components(0.0, (0.0, 0.0), (0.0, 0.0))
    total = zero
    for p in parts:
        total = total.scaled(p, 1.0 / len(parts))
    return total


@dataclass(frozen=True)
class PlannedCell:
    se: float
    df: float
    mdd: float


def planned_se(c: Components, n: int, seeds: int) -> tuple[float, float]:
    """``(SE, Satterthwaite df)`` of the difference for n queries and ``seeds`` per arm."""
    var_query = c.interaction + sum(c.residual) / seeds  # expected var of a query's dbar
    terms = [Term("query", var_query, 1 / n, n - 1)]
    if seeds >= 2:
        for res, sd in zip(c.residual, c.seed, strict=True):
            terms += [Term("seed", sd + res / n, 1 / seeds, seeds - 1),
                      Term("residual", res, -1 / (n * seeds), (seeds - 1) * (n - 1))]
    se2 = var_query / n + sum(c.seed) / seeds
    return math.sqrt(max(se2, 0.0)), satterthwaite(terms)


def mdd(c: Components, n: int, seeds: int, alpha: float = 0.05, family_size: int = 1,
        power: float = 0.8) -> PlannedCell:
    """Minimal detectable difference at ``power``, two-sided, level alpha / family_size."""
    se, df = planned_se(c, n, seeds)
    q = student_t.ppf(1 - alpha / (2 * family_size), df) + student_t.ppf(power, df)
    return PlannedCell(se, df, float(q * se))


def pooled_components(parts: Sequence[tuple[Components, int]]) -> tuple[Components, float]:
    """Equal-weight pooling of tasks ``(components, n_t)`` into per-query-equivalent components for
    a total of N = sum n_t queries: returns the components and N. Seed effects are taken as fully
    shared across tasks (the same trained model): the conservative choice."""
    k = len(parts)
    total_n = sum(n for _, n in parts)
    # query part: sum_t (1/k)^2 v_t / n_t = v_eff / N  -> v_eff = N sum_t v_t / (k^2 n_t)
    interaction = total_n * sum(c.interaction / (k**2 * n) for c, n in parts)
    residual = tuple(total_n * sum(c.residual[i] / (k**2 * n) for c, n in parts) for i in (0, 1))
    seed = tuple(sum(math.sqrt(c.seed[i]) / k for c, _ in parts) ** 2 for i in (0, 1))
    return Components(interaction, residual, seed), total_n
