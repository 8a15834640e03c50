"""Sign-flip p (exact = scipy's permutation test; Monte Carlo with a stated error), bootstrap, Holm, d_z."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from polyret.stats.resampling import MC_ERROR, bootstrap_ci, effect_size, holm, sign_flip_p


def _scipy_p(d: np.ndarray) -> float:
    ref = stats.permutation_test((d,), lambda x, axis: np.mean(x, axis=axis), permutation_type="samples",
                                 alternative="two-sided", n_resamples=np.inf, vectorized=True)
    return float(ref.pvalue)


@pytest.mark.parametrize("n, shift", [(3, 0.0), (8, 0.2), (13, 0.05), (17, 0.1),
                                      pytest.param(20, 0.08, marks=pytest.mark.slow)])  # scipy: ~17 s
def test_exact_p_for_n_up_to_20_equals_scipy_permutation_test(n, shift):
    d = np.random.default_rng(n).normal(shift, 0.2, n)
    p, error, resamples = sign_flip_p(d)
    assert error == 0.0 and resamples == 2**n
    assert p == pytest.approx(_scipy_p(d), abs=1e-12)


def test_exact_p_with_ties_and_zero_mean():
    d = np.array([0.1, -0.1, 0.2, -0.2, 0.0])
    assert sign_flip_p(d)[0] == 1.0
    assert sign_flip_p(np.array([0.5, 0.5, 0.5]))[0] == pytest.approx(2 / 8)  # all +, all -


def test_monte_carlo_beyond_20_queries_states_an_error_below_0005():
    rng = np.random.default_rng(5)
    d = rng.normal(0.03, 0.1, 60)
    p, error, resamples = sign_flip_p(d, seed=1)
    assert 0 < error <= MC_ERROR and resamples >= 10_000
    # the permutation p of a mean is close to the t-test's for n = 60
    assert abs(p - stats.ttest_1samp(d, 0).pvalue) < 0.02
    assert sign_flip_p(d, seed=1) == (p, error, resamples)  # explicit seed: reproducible
    # a tiny p: the interval is narrow after the first batch
    p_small, err_small, n_small = sign_flip_p(d + 0.2, seed=1)
    assert p_small == pytest.approx(1 / (n_small + 1)) and err_small < MC_ERROR


def test_refuses_non_finite():
    with pytest.raises(ValueError, match="NaN or inf"):
        sign_flip_p([0.1, math.nan, 0.2])


def test_bootstrap_ci_contains_a_clear_shift():
    d = np.random.default_rng(1).normal(0.2, 0.01, 300)
    low, high = bootstrap_ci(d, 2000)
    assert 0.19 < low < d.mean() < high < 0.21
    assert bootstrap_ci(d, 500, seed=3) == bootstrap_ci(d, 500, seed=3)


def test_holm_hand_worked():
    # sorted p: .01 (x4 = .04), .02 (x3 = .06), .03 (x2 = .06), .04 (x1 = .04 -> monotone .06)
    np.testing.assert_allclose(holm([0.03, 0.01, 0.04, 0.02]), [0.06, 0.04, 0.06, 0.06])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])
    np.testing.assert_allclose(holm([0.001, 0.9]), [0.002, 0.9])
    assert holm([]).size == 0


def test_effect_size():
    assert effect_size([0.1, 0.3]) == pytest.approx(0.2 / math.sqrt(0.02))
    assert effect_size([0.05] * 5) == math.inf
    assert effect_size([0.0] * 5) == 0.0
