"""TOST on constructed data (difference, equivalence, inconclusive) through the one result type, and the
plan's minimal detectable difference against a hand calculation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from polyret.stats.difference import DIFFERENCE, EQUIVALENT, INCONCLUSIVE, compare_arms, correct
from polyret.stats.power import Components, components, mdd, planned_se, pooled_components


def _runs(values: np.ndarray) -> list[dict[str, float]]:
    """(seeds, n) -> one score dict per seed."""
    return [{f"q{i}": float(v) for i, v in enumerate(row)} for row in values]


def _cell(rng, n: int, theta: float, noise: float, seed_sd: float = 0.0):
    base = rng.uniform(0.2, 0.8, n)
    a = base + theta + rng.normal(0, noise, (3, n)) + rng.normal(0, seed_sd, (3, 1))
    b = base + rng.normal(0, noise, (3, n)) + rng.normal(0, seed_sd, (3, 1))
    ids = [f"q{i}" for i in range(n)]
    return compare_arms([(_runs(a), _runs(b), ids)], ("a - b", "t", "all", "m"), margin=0.01,
                        bootstrap=200)


def test_tost_gives_the_three_outcomes_on_constructed_data():
    rng = np.random.default_rng(11)
    different = _cell(rng, 400, theta=0.05, noise=0.02)  # far outside the margin, precise
    equivalent = _cell(rng, 400, theta=0.0, noise=0.02)  # inside the margin, precise
    vague = _cell(rng, 20, theta=0.0, noise=0.2)  # could be anything within +-0.1
    rows = [different, equivalent, vague]
    for r in rows:
        r.family = "primary"
    correct(rows)
    assert different.outcome(0.05) == DIFFERENCE and different.p_holm < 1e-6
    assert equivalent.outcome(0.05) == EQUIVALENT and equivalent.tost_p_holm < 0.05
    assert equivalent.ci_high < 0.01 and equivalent.ci_low > -0.01
    assert vague.outcome(0.05) == INCONCLUSIVE and vague.p_holm > 0.05 and vague.tost_p_holm > 0.05
    # the TOST p is the larger one-sided p from the model's estimate and SE
    lower = stats.t.sf((equivalent.diff + 0.01) / equivalent.se, equivalent.df)
    upper = stats.t.cdf((equivalent.diff - 0.01) / equivalent.se, equivalent.df)
    assert equivalent.tost_p == pytest.approx(max(lower, upper))


def test_report_sentence_uses_all_three_outcomes():
    from polyret.report.stats import verdict

    rng = np.random.default_rng(11)
    rows = [_cell(rng, 400, 0.05, 0.02), _cell(rng, 400, 0.0, 0.02), _cell(rng, 20, 0.0, 0.2)]
    for r, task in zip(rows, ("x", "y", "z"), strict=True):
        r.family, r.task = "primary", task
    correct(rows)
    text = verdict(rows, "hybrid", "cross", "nDCG@10", 0.05, margin=0.01)
    assert "hybrid scores higher than cross on 1 of 3 (x / all" in text
    assert "no difference larger than +-0.01 (equivalent) on 1 of 3 (y / all)" in text
    assert "inconclusive on 1 of 3" in text and "z / all" in text
    assert "no equivalence margin" in verdict(rows[2:], "hybrid", "cross", "m", 0.05)


def test_seeds_are_not_paired_by_number():
    """Reordering one arm's seeds changes nothing (seeds are random, nested in their arm)."""
    rng = np.random.default_rng(3)
    a, b = rng.random((3, 30)), rng.random((3, 30))
    ids = [f"q{i}" for i in range(30)]
    one = compare_arms([(_runs(a), _runs(b), ids)], ("a - b", "t", "all", "m"), bootstrap=100)
    two = compare_arms([(_runs(a), _runs(b[::-1]), ids)], ("a - b", "t", "all", "m"), bootstrap=100)
    assert (one.diff, one.se, one.df, one.p) == pytest.approx((two.diff, two.se, two.df, two.p))


def test_mdd_hand_calculation_queries_only():
    # No seed or residual variance: SE = sqrt(0.01 / 25) = 0.02, df = n - 1 = 24. Holm's first step
    # over m = 4 cells: t(1 - 0.05 / 8, 24) = 2.7002, t(0.80, 24) = 0.8569:
    # MDD = (2.7002 + 0.8569) * 0.02 = 0.07114.
    cell = mdd(Components(0.01, (0.0, 0.0), (0.0, 0.0)), n=25, seeds=3, alpha=0.05, family_size=4)
    assert cell.se == pytest.approx(0.02) and cell.df == pytest.approx(24)
    assert cell.mdd == pytest.approx(0.07114, abs=2e-5)


def test_mdd_hand_calculation_with_seeds():
    # interaction 0.004, residual 0.006 per arm, seed variance 0.0001 per arm; n = 100, S = 3:
    # SE^2 = (0.004 + 2 * 0.006 / 3) / 100 + 2 * 0.0001 / 3 = 0.00008 + 0.0000666667 = 0.000146667
    # SE = 0.0121106. Satterthwaite over: query MS 0.008 (coef 1/100, df 99), per arm seed MS
    # 0.0001 + 0.006 / 100 = 0.00016 (coef 1/3, df 2), residual 0.006 (coef -1/300, df 198):
    # df = 0.000146667^2 / (0.00008^2 / 99 + 2 * (0.0000533333^2 / 2) + 2 * (0.00002^2 / 198))
    #    = 2.1511e-8 / 2.9131e-9 = 7.384
    # MDD (m = 1) = (t(0.975, 7.384) + t(0.8, 7.384)) * SE = (2.3399 + 0.8930) * 0.0121106 = 0.03915
    c = Components(0.004, (0.006, 0.006), (0.0001, 0.0001))
    se, df = planned_se(c, 100, 3)
    assert se == pytest.approx(0.0121106, abs=1e-7) and df == pytest.approx(7.384, abs=0.01)
    assert mdd(c, 100, 3).mdd == pytest.approx(0.03915, abs=1e-4)
    assert mdd(c, 100, 10).mdd < mdd(c, 100, 3).mdd and mdd(c, 400, 3).mdd < mdd(c, 100, 3).mdd


def test_components_recover_the_simulated_variances_and_the_mdd_has_80_percent_power():
    rng = np.random.default_rng(5)
    n, seeds = 60, 3

    def grid(shift):
        q = rng.normal(0.5, 0.2, n)
        out = []
        for s in (shift, 0.0):
            out.append(q + s + rng.normal(0, 0.03, n) + rng.normal(0, 0.01, (seeds, 1))
                       + rng.normal(0, 0.05, (seeds, n)))
        return out

    pilot = [components(*grid(0.0)) for _ in range(200)]
    mean = Components(np.mean([c.interaction for c in pilot]), tuple(np.mean([c.residual for c in pilot], 0)),
                      tuple(np.mean([c.seed for c in pilot], 0)))
    assert mean.interaction == pytest.approx(2 * 0.03**2, rel=0.15)
    assert mean.residual == pytest.approx((0.05**2, 0.05**2), rel=0.05)
    assert mean.seed == pytest.approx((0.01**2, 0.01**2), rel=0.35)
    truth = Components(2 * 0.03**2, (0.05**2,) * 2, (0.01**2,) * 2)
    theta = mdd(truth, n, seeds).mdd
    ids = [f"q{i}" for i in range(n)]
    hits = 0
    for _ in range(200):
        a, b = grid(theta)
        row = compare_arms([(_runs(a), _runs(b), ids)], ("a - b", "t", "all", "m"), bootstrap=50)
        hits += row.p < 0.05
    assert 0.68 <= hits / 200 <= 0.92  # 80 % power within simulation error (sd 2.8 %) and df approximation


def test_pooled_components_scale_like_the_pooled_estimator():
    c = Components(0.01, (0.0, 0.0), (0.0, 0.0))
    pooled, total = pooled_components([(c, 100), (c, 300)])
    # Var = (1/2)^2 (0.01 / 100 + 0.01 / 300) = 0.0000333; as N = 400 equivalent queries
    assert planned_se(pooled, int(total), 3)[0] == pytest.approx(math.sqrt(0.25 * (0.01 / 100 + 0.01 / 300)))
