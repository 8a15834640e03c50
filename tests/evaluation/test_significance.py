"""Paired tests: known cases, Holm by hand, agreement with scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from polyret.evaluation.significance import (
    bootstrap_test,
    cohens_d_paired,
    compare_paired,
    holm,
    randomization_test,
    t_test,
)


def test_identical_systems_give_p_one():
    a = np.random.default_rng(0).random(200)
    assert randomization_test(a, a) == 1.0
    assert bootstrap_test(a, a).p_value == 1.0
    assert t_test(a, a) == 1.0
    assert cohens_d_paired(a, a) == 0.0


def test_large_consistent_difference_gives_small_p():
    rng = np.random.default_rng(1)
    a = rng.random(300)
    b = a + 0.2 + 0.01 * rng.standard_normal(300)
    assert randomization_test(b, a, n_resamples=2000) == pytest.approx(1 / 2001)
    boot = bootstrap_test(b, a, n_resamples=2000)
    assert boot.p_value < 0.001 and boot.ci_low < 0.2 < boot.ci_high and boot.ci_low > 0.19
    assert t_test(b, a) < 1e-100


def test_seed_makes_monte_carlo_reproducible():
    rng = np.random.default_rng(2)
    a, b = rng.random(50), rng.random(50)
    assert randomization_test(a, b, 500, seed=3) == randomization_test(a, b, 500, seed=3)
    assert bootstrap_test(a, b, 500, seed=3) == bootstrap_test(a, b, 500, seed=3)


def test_holm_hand_worked():
    # sorted p: .01 (x4 = .04), .02 (x3 = .06), .03 (x2 = .06), .04 (x1 = .04 -> monotone .06)
    np.testing.assert_allclose(holm([0.03, 0.01, 0.04, 0.02]), [0.06, 0.04, 0.06, 0.06])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])  # .9 lifted to the running max 1.0
    np.testing.assert_allclose(holm([0.001, 0.9]), [0.002, 0.9])
    assert holm([]).size == 0


def test_t_test_matches_scipy():
    rng = np.random.default_rng(4)
    a, b = rng.random(40), rng.random(40)
    assert t_test(a, b) == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_randomization_matches_scipy_permutation_test(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.random(10), rng.random(10) + 0.1 * seed
    ref = stats.permutation_test(
        (a, b), lambda x, y, axis: np.mean(x - y, axis=axis), permutation_type="samples",
        alternative="two-sided", n_resamples=10_000, vectorized=True,
    )
    assert randomization_test(a, b, n_resamples=10_000) == pytest.approx(ref.pvalue, abs=1e-12)


def test_cohens_d_and_compare_paired():
    a = np.array([0.1, 0.2, 0.3, 0.4])
    b = a + np.array([0.1, 0.2, 0.1, 0.2])
    d = np.array([0.1, 0.2, 0.1, 0.2])
    assert cohens_d_paired(b, a) == pytest.approx(d.mean() / d.std(ddof=1))
    c = compare_paired(a, b, test="t-test")
    assert c.delta == pytest.approx(0.15) and c.n == 4 and c.mean_b > c.mean_a
    assert c.p_value == pytest.approx(stats.ttest_rel(b, a).pvalue)
    with pytest.raises(ValueError, match="unknown test"):
        compare_paired(a, b, test="wilcoxon")
    with pytest.raises(ValueError, match="one length"):
        randomization_test(a, b[:3])
