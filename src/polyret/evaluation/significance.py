"""Paired significance tests over per-query scores: pure functions with an explicit seed.

- :func:`randomization_test`: Fisher's paired randomization (sign-flip permutation) test of the
  mean difference, two-sided. Exact (all 2^n sign patterns) when ``2**n <= n_resamples``, as
  ``scipy.stats.permutation_test`` does; otherwise Monte Carlo with p = (hits + 1) / (n_resamples + 1).
- :func:`bootstrap_test`: paired bootstrap over queries: percentile confidence interval of the mean
  difference and a two-sided p-value from the null-centred bootstrap distribution.
- :func:`t_test`: ``scipy.stats.ttest_rel``.
- :func:`holm`: Holm-Bonferroni adjusted p-values across the comparisons of one report.
- :func:`cohens_d_paired`: mean difference / standard deviation of the differences (d_z).

Identical systems give p = 1 in every test.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np

TESTS = ("randomization", "bootstrap", "t-test")
_REL_TOL = 1e-12  # float noise allowed when comparing resampled statistics with the observed one


def _diffs(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired scores need two 1-D arrays of one length, got {a.shape} and {b.shape}")
    if a.size == 0:
        raise ValueError("paired scores are empty")
    return a - b


def randomization_test(a, b, n_resamples: int = 10_000, seed: int = 0) -> float:
    """Two-sided p-value of mean(a - b) = 0 under random sign flips of the paired differences."""
    d = _diffs(a, b)
    n = d.size
    observed = abs(d.mean())
    tol = _REL_TOL * max(observed, 1.0)
    if 2**n <= n_resamples:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))  # (2^n, n)
        null = np.abs(signs @ d / n)
        return float(min(1.0, np.mean(null >= observed - tol)))
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, n_resamples, 1000):
        size = min(1000, n_resamples - start)
        signs = rng.choice((1.0, -1.0), size=(size, n))  # (size, n)
        hits += int(np.sum(np.abs(signs @ d / n) >= observed - tol))
    return float((hits + 1) / (n_resamples + 1))


@dataclass(frozen=True)
class BootstrapResult:
    p_value: float
    ci_low: float
    ci_high: float
    confidence: float


def bootstrap_test(
    a, b, n_resamples: int = 10_000, seed: int = 0, confidence: float = 0.95
) -> BootstrapResult:
    """Paired bootstrap of mean(a - b): percentile CI and a two-sided null-centred p-value."""
    d = _diffs(a, b)
    n = d.size
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, 1000):
        size = min(1000, n_resamples - start)
        idx = rng.integers(0, n, size=(size, n))  # (size, n)
        means[start : start + size] = d[idx].mean(axis=1)
    observed = d.mean()
    tol = _REL_TOL * max(abs(observed), 1.0)
    hits = int(np.sum(np.abs(means - observed) >= abs(observed) - tol))
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return BootstrapResult(
        float(min(1.0, (hits + 1) / (n_resamples + 1))), float(low), float(high), confidence
    )


def t_test(a, b) -> float:
    """Two-sided paired t-test p-value (``scipy.stats.ttest_rel``); 1.0 when a == b everywhere."""
    from scipy import stats

    d = _diffs(a, b)
    if np.all(d == d[0]):
        return 1.0 if d[0] == 0 else 0.0
    return float(stats.ttest_rel(np.asarray(a, float), np.asarray(b, float)).pvalue)


def cohens_d_paired(a, b) -> float:
    """Cohen's d for paired samples: mean(a - b) / sd(a - b) (ddof 1); 0 when a == b."""
    d = _diffs(a, b)
    if d.size < 2:
        return float("nan")
    sd = d.std(ddof=1)
    if sd == 0:
        return 0.0 if d.mean() == 0 else float(np.sign(d.mean()) * np.inf)
    return float(d.mean() / sd)


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (same order as given)."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted


@dataclass
class PairedComparison:
    """One metric of system B against baseline A over the same queries."""

    n: int
    mean_a: float
    mean_b: float
    delta: float  # mean(b - a)
    cohens_d: float
    test: str
    p_value: float
    ci_low: float | None = None
    ci_high: float | None = None
    p_holm: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def compare_paired(
    a, b, test: str = "randomization", n_resamples: int = 10_000, seed: int = 0
) -> PairedComparison:
    """Compare per-query scores ``b`` against baseline ``a`` with the named test."""
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; expected one of {TESTS}")
    a, b = np.asarray(a, float), np.asarray(b, float)
    boot = bootstrap_test(b, a, n_resamples=n_resamples, seed=seed)
    if test == "randomization":
        p = randomization_test(b, a, n_resamples=n_resamples, seed=seed)
    elif test == "bootstrap":
        p = boot.p_value
    else:
        p = t_test(b, a)
    return PairedComparison(
        n=int(a.size),
        mean_a=float(a.mean()),
        mean_b=float(b.mean()),
        delta=float((b - a).mean()),
        cohens_d=cohens_d_paired(b, a),
        test=test,
        p_value=p,
        ci_low=boot.ci_low,
        ci_high=boot.ci_high,
    )
