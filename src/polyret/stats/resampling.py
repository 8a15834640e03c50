"""Query-level resampling statistics over paired per-query differences: pure, with explicit seeds.

- :func:`sign_flip_p`: two-sided paired randomization (sign-flip) test of mean(d) = 0. **Exact**
  (all 2^n sign patterns) when n <= :data:`EXACT_MAX_N` (2^n <= 2^20); otherwise **adaptive Monte
  Carlo**: resamples are drawn in batches until the 99 % Monte Carlo interval of p has half-width
  <= :data:`MC_ERROR` (0.005, at any p, hence also around every decision threshold); the error is
  returned with p.
- :func:`bootstrap_ci`: paired bootstrap percentile CI of mean(d).
- :func:`holm`: Holm-Bonferroni adjusted p-values; :func:`effect_size`: d_z = mean(d) / sd(d).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.stats import norm

EXACT_MAX_N = 20  # exact enumeration while 2^n <= 2^20
MC_ERROR = 0.005  # half-width of the 99 % Monte Carlo interval of a sign-flip p
MC_CONFIDENCE = 0.99
_BATCH = 10_000
_BATCH_CELLS = 1 << 21
_REL_TOL = 1e-12  # float noise allowed when comparing resampled statistics with the observed one


def as_differences(d) -> np.ndarray:
    """A finite, non-empty 1-D float array (ValueError otherwise)."""
    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 1 or d.size == 0:
        raise ValueError(f"paired differences must be a non-empty 1-D array, got shape {d.shape}")
    if not np.all(np.isfinite(d)):
        raise ValueError("paired differences contain NaN or inf")
    return d


def sign_flip_p(d, seed: int = 0) -> tuple[float, float, int]:
    """``(p, monte_carlo_error, resamples)`` of the two-sided sign-flip test of mean(d) = 0.

    Exact (error 0, resamples 2^n) for n <= 20; else Monte Carlo with p = (hits + 1) / (N + 1) and N
    grown until the 99 % interval's half-width is <= 0.005."""
    d = as_differences(d)
    n = d.size
    observed = abs(d.mean())
    tol = _REL_TOL * max(observed, 1.0)
    if n <= EXACT_MAX_N:
        hits, total = 0, 0
        for block in _sign_blocks(n):  # (rows, n) sign patterns
            hits += int(np.sum(np.abs(block @ d) / n >= observed - tol))
            total += block.shape[0]
        return float(hits / total), 0.0, total
    rng = np.random.default_rng(seed)
    z = norm.ppf(0.5 + MC_CONFIDENCE / 2)
    batch = max(1000, min(_BATCH, _BATCH_CELLS // n))  # bounded memory: <= 2^21 signs per batch
    hits = total = 0
    while True:
        signs = rng.integers(0, 2, size=(batch, n), dtype=np.int8) * 2 - 1  # (batch, n) of +-1
        hits += int(np.sum(np.abs(signs @ d) / n >= observed - tol))
        total += batch
        p = (hits + 1) / (total + 1)
        error = z * math.sqrt(p * (1 - p) / total)
        if error <= MC_ERROR:
            return float(p), float(error), total


def _sign_blocks(n: int):
    """All 2^n sign vectors, in blocks of at most 2^16 rows: (2^(n-head), n) each."""
    head = max(0, n - 16)
    tail_signs = np.array(list(itertools.product((1.0, -1.0), repeat=n - head)))  # (2^tail, tail)
    for prefix in itertools.product((1.0, -1.0), repeat=head):
        yield np.hstack([np.tile(prefix, (tail_signs.shape[0], 1)), tail_signs])


def bootstrap_ci(d, n_resamples: int = 10_000, seed: int = 0,
                 confidence: float = 0.95) -> tuple[float, float]:
    """Paired bootstrap percentile CI of mean(d) over queries."""
    d = as_differences(d)
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, 1000):
        size = min(1000, n_resamples - start)
        idx = rng.integers(0, d.size, size=(size, d.size))  # (size, n)
        means[start:start + size] = d[idx].mean(axis=1)
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def effect_size(d) -> float:
    """d_z = mean(d) / sd(d) (ddof 1); 0 or +-inf when the differences are equal up to float noise."""
    d = as_differences(d)
    if d.size < 2:
        return math.nan
    if float(np.ptp(d)) <= 1e-12 * max(1.0, float(np.abs(d).max())):
        mean = float(d.mean())
        return 0.0 if abs(mean) <= 1e-12 else math.copysign(math.inf, mean)
    return float(d.mean() / d.std(ddof=1))


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (same order as given)."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted
