"""The seed-aware crossed analysis: a hand-worked balanced example, the one-run case against scipy, a
coverage simulation with known seed variance, pooling over tasks, and refusals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from polyret.stats.crossed import Stratum, crossed_difference

# Hand-worked: 2 arms x 2 seeds x 3 queries.
A = np.array([[0.50, 0.70, 0.30],   # arm a, seed 1
              [0.60, 0.90, 0.30]])  # arm a, seed 2
B = np.array([[0.40, 0.60, 0.40],
              [0.20, 0.50, 0.20]])


def test_hand_worked_balanced_example():
    # Arm means: a 0.55, b 0.38333 -> D = 0.166667.
    # Per-query differences of seed means: dbar = (0.55 - 0.30, 0.80 - 0.55, 0.30 - 0.30)
    #   = (0.25, 0.25, 0.00); var = (0.083333^2 + 0.083333^2 + 0.166667^2) / 2 = 0.0208333
    #   -> query term var / n = 0.0069444 (= 2 MS_AQ / (n S), MS_AQ = S var / 2).
    # Seed means: a (0.5, 0.6): v_a = 0.005; b (0.46667, 0.3): v_b = 0.0138889
    #   -> seed terms v / S = 0.0025 and 0.0069444.
    # Residuals y - seed mean - query mean + arm mean: a seed 1 (0, -0.05, 0.05), seed 2 the
    #   negatives: SS 0.01, MS_E(a) = 0.01 / ((S-1)(n-1)) = 0.005; b seed 1 (0.01667, -0.03333,
    #   0.01667): SS 0.0033333, MS_E(b) = 0.0016667 -> residual terms -MS_E / (n S) = -0.00083333,
    #   -0.00027778 (both seed components stay positive: no truncation).
    # SE^2 = 0.0069444 + 0.0025 + 0.0069444 - 0.00083333 - 0.00027778 = 0.0152778
    # Satterthwaite over the five mean squares (df 2, 1, 1, 2, 2): 0.0152778^2 / (0.0069444^2 / 2
    #   + 0.0025^2 + 0.0069444^2 + 0.00083333^2 / 2 + 0.00027778^2 / 2) = 0.00023341 / 0.000078974 = 2.9556
    est = crossed_difference([Stratum(A, B)])
    assert est.estimate == pytest.approx(0.166667, abs=1e-6)
    assert est.se**2 == pytest.approx(0.0152778, abs=1e-7)
    assert est.df == pytest.approx(2.9556, abs=2e-3)
    assert est.se_query**2 == pytest.approx(0.0069444, abs=1e-7)
    assert est.se**2 == pytest.approx(_anova_se2(A, B), rel=1e-10)  # = 2 / (n S) (MS_AQ + MS_S - MS_E)
    low, high = est.ci()
    half = stats.t.ppf(0.975, est.df) * est.se
    assert (low, high) == pytest.approx((est.estimate - half, est.estimate + half))
    assert est.p_value() == pytest.approx(2 * stats.t.sf(est.estimate / est.se, est.df))


def _anova_se2(a: np.ndarray, b: np.ndarray) -> float:
    """The classical nested-crossed ANOVA formula, written out with loops (independent of the code)."""
    y = np.stack([a, b])  # (arm, seed, query)
    arms, seeds, n = y.shape
    arm_mean = y.mean(axis=(1, 2))
    ms_s = sum(n * (y[i, s].mean() - arm_mean[i]) ** 2 for i in range(arms) for s in range(seeds))
    ms_s /= arms * (seeds - 1)
    grand, q_mean = y.mean(), y.mean(axis=(0, 1))
    ms_aq = sum(seeds * (y[i, :, q].mean() - arm_mean[i] - q_mean[q] + grand) ** 2
                for i in range(arms) for q in range(n)) / ((arms - 1) * (n - 1))
    ms_e = sum((y[i, s, q] - y[i, s].mean() - y[i, :, q].mean() + arm_mean[i]) ** 2
               for i in range(arms) for s in range(seeds) for q in range(n)) / (arms * (seeds - 1) * (n - 1))
    return 2 / (n * seeds) * (ms_aq + ms_s - ms_e)


def test_equals_the_classical_anova_formula_on_random_balanced_data():
    rng = np.random.default_rng(3)
    for _ in range(5):
        a, b = rng.normal(0, 1, (4, 15)) + rng.normal(0, 1, 15), rng.normal(0, 1, (4, 15))
        a += rng.normal(0, 1, (4, 1))  # visible seed effects: no truncation
        b += rng.normal(0, 1, (4, 1))
        assert crossed_difference([Stratum(a, b)]).se**2 == pytest.approx(_anova_se2(a, b), rel=1e-10)


def test_one_run_per_arm_is_the_paired_t_test():
    rng = np.random.default_rng(4)
    a, b = rng.random(40), rng.random(40)
    est = crossed_difference([Stratum(a[None], b[None])])
    ref = stats.ttest_rel(a, b)
    assert est.p_value() == pytest.approx(ref.pvalue, rel=1e-10)
    assert est.df == 39 and est.se == pytest.approx(est.se_query)
    ci = ref.confidence_interval()
    assert est.ci() == pytest.approx((ci.low, ci.high), rel=1e-10)


def _simulate(rng, n=40, seeds=3, sd_seed=0.02, sd_q=0.2, sd_aq=0.01, sd_e=0.05, theta=0.01):
    q = rng.normal(0.5, sd_q, n)
    arms = []
    for shift in (theta, 0.0):
        aq = rng.normal(0, sd_aq, n)
        s = rng.normal(0, sd_seed, (seeds, 1))
        arms.append(q + shift + aq + s + rng.normal(0, sd_e, (seeds, n)))
    return arms


def test_ci_covers_at_the_nominal_rate_when_the_seed_variance_is_known():
    """300 simulated grids with seed sd 0.02 (dominant): the seed-aware 95 % CI covers the true
    difference at 95 % within simulation error (binomial sd 1.3 %); the query-only CI does not."""
    rng = np.random.default_rng(2024)
    theta, hits, hits_query = 0.01, 0, 0
    runs = 300
    for _ in range(runs):
        a, b = _simulate(rng, theta=theta)
        est = crossed_difference([Stratum(a, b)])
        low, high = est.ci()
        hits += low <= theta <= high
        half = stats.t.ppf(0.975, a.shape[1] - 1) * est.se_query
        hits_query += est.estimate - half <= theta <= est.estimate + half
    assert 0.92 <= hits / runs <= 0.985
    assert hits_query / runs < 0.75


def test_pooled_over_tasks_is_the_mean_difference_and_covers_with_shared_seed_effects():
    rng = np.random.default_rng(7)
    a1, b1 = _simulate(rng, n=30)
    a2, b2 = _simulate(rng, n=50)
    est = crossed_difference([Stratum(a1, b1), Stratum(a2, b2)])
    assert est.estimate == pytest.approx(((a1.mean() - b1.mean()) + (a2.mean() - b2.mean())) / 2)
    hits, runs = 0, 200
    for _ in range(runs):  # seed effect shared by the tasks (the same trained model), task effects fixed
        arms = []
        for shift in (0.01, 0.0):
            s = rng.normal(0, 0.02, (3, 1))
            arms.append([rng.normal(0.5, 0.2, n) + t + shift + s + rng.normal(0, 0.05, (3, n))
                         for n, t in ((30, 0.0), (50, 0.2))])
        est = crossed_difference([Stratum(arms[0][t], arms[1][t]) for t in (0, 1)])
        low, high = est.ci()
        hits += low <= 0.01 <= high
    assert 0.91 <= hits / runs <= 0.99


def test_seed_variance_is_truncated_at_zero_and_never_below_query_only():
    rng = np.random.default_rng(1)
    a, b = _simulate(rng, sd_seed=0.0)
    est = crossed_difference([Stratum(a, b)])
    assert est.se >= est.se_query


def test_tost_p():
    rng = np.random.default_rng(0)
    a, b = _simulate(rng, n=200, sd_seed=0.0, sd_e=0.01, theta=0.0)
    est = crossed_difference([Stratum(a, b)])
    lower = stats.t.sf((est.estimate + 0.01) / est.se, est.df)
    upper = stats.t.cdf((est.estimate - 0.01) / est.se, est.df)
    assert est.tost_p(0.01) == pytest.approx(max(lower, upper))
    with pytest.raises(ValueError):
        est.tost_p(0.0)


@pytest.mark.parametrize("a, b, message", [
    (np.ones((2, 5)), np.ones((2, 4)), "unbalanced"),
    (np.array([[0.1, np.nan]]), np.ones((1, 2)), "non-finite"),
    (np.ones((2, 1)), np.ones((2, 1)), "queries >= 2"),
])
def test_refuses_unbalanced_or_non_finite(a, b, message):
    with pytest.raises(ValueError, match=message):
        crossed_difference([Stratum(a, b)])
