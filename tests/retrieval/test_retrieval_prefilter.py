"""The certified bf16 prefilter: its error bound holds, certified rows miss no document of the exact
top-k, and the ``bf16`` engine ranks exactly like a float64 brute force (ties, exclusions, order)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from polyret.retrieval import prefilter
from polyret.retrieval.prefilter import bf16_candidates, error_bound
from polyret.retrieval.search import exact_search, topk_indices


def _unit(rng, n, dim):
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _near_ties(rng, n_q=12, n_d=3000, dim=64):
    """Docs clustered around each query: hundreds of scores within the bf16 error of one another."""
    q = _unit(rng, n_q, dim)
    base = np.repeat(q, n_d // n_q, axis=0)
    d = base + 0.01 * rng.standard_normal(base.shape).astype(np.float32)
    return q, np.ascontiguousarray(d, dtype=np.float32)


def _brute(q, d, k, keys=None):
    """float64 scores, ranked by (score desc, key asc): (Q, k) rows."""
    s = q.astype(np.float64) @ d.astype(np.float64).T
    keys = np.arange(d.shape[0]) if keys is None else keys
    return np.stack([np.lexsort((keys, -row))[:k] for row in s])


@given(seed=st.integers(0, 10_000), dim=st.sampled_from([3, 16, 384]),
       scale=st.sampled_from([1e-3, 1.0, 37.0]))
@settings(max_examples=40, deadline=None)
def test_bf16_scores_stay_within_the_error_bound(seed, dim, scale):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((8, dim)).astype(np.float32) * scale
    d = rng.standard_normal((64, dim)).astype(np.float32) * rng.uniform(0.1, 3, (64, 1)).astype(np.float32)
    approx = (torch.from_numpy(q).bfloat16() @ torch.from_numpy(d).bfloat16().T).double().numpy()
    exact = q.astype(np.float64) @ d.astype(np.float64).T
    bound = error_bound(dim) * np.linalg.norm(q, axis=1)[:, None] * np.linalg.norm(d, axis=1)[None, :]
    assert np.all(np.abs(approx - exact) <= bound)


@pytest.mark.parametrize("maker,keep", [("random", 32), ("near_ties", 300)])
def test_certified_rows_hold_every_document_of_the_exact_top_k(maker, keep, monkeypatch):
    monkeypatch.setattr(prefilter, "MIN_KEEP", keep)  # near ties: each block keeps past the band
    rng = np.random.default_rng(1)
    q, d = (_unit(rng, 40, 32), _unit(rng, 5000, 32)) if maker == "random" else _near_ties(rng)
    k = 10
    scores, rows, undecided = bf16_candidates(q, d, np.full(len(q), k), doc_chunk=1000)
    assert len(undecided) == 0
    exact = q.astype(np.float64) @ d.astype(np.float64).T
    counts = []
    for r in range(len(q)):
        kth = np.sort(exact[r])[-k]
        must = set(np.flatnonzero(exact[r] >= kth).tolist())  # ties at the k-th score included
        finite = np.isfinite(scores[r])
        assert must <= set(rows[r][finite].tolist())
        np.testing.assert_allclose(scores[r][finite], exact[r, rows[r][finite]], rtol=1e-12)  # float64
        counts.append(int(finite.sum()))
    if maker == "near_ties":
        assert min(counts) > 3 * k  # the band held many more documents than the top-k: all re-scored


def test_undecided_rows_are_reported_when_a_block_cuts_inside_the_band(monkeypatch):
    monkeypatch.setattr(prefilter, "MIN_KEEP", 1)
    rng = np.random.default_rng(2)
    q, d = _near_ties(rng)
    _, _, undecided = bf16_candidates(q, d, np.full(len(q), 2), doc_chunk=500)
    assert len(undecided) > 0


@pytest.mark.parametrize("maker,keep", [("random", 32), ("near_ties", 300), ("near_ties", 40),
                                        ("near_ties", 4)])
def test_bf16_engine_ranks_like_float64_brute_force(maker, keep, monkeypatch):
    """keep 40: the first pass leaves rows undecided, the second (8x keep) certifies them; keep 4:
    both passes leave them undecided and they take the FAISS fallback."""
    monkeypatch.setattr(prefilter, "MIN_KEEP", keep)
    rng = np.random.default_rng(3)
    q, d = (_unit(rng, 30, 48), _unit(rng, 4000, 48)) if maker == "random" else _near_ties(rng, dim=48)
    for k in (1, 10, 50):
        _, idx = topk_indices(q, d, k, engine="bf16")
        expected = _brute(q, d, k)
        if keep > 4:  # certified rows: the float64 ranking itself
            np.testing.assert_array_equal(idx, expected)
        else:  # fallback rows rank by fp32 products: equal up to fp32 rounding of near-ties
            exact = q.astype(np.float64) @ d.astype(np.float64).T
            got = np.take_along_axis(exact, idx, 1)
            want = np.take_along_axis(exact, expected, 1)
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_exact_search_bf16_ties_by_doc_id_and_exclusions():
    rng = np.random.default_rng(5)
    q, d = _unit(rng, 25, 32), _unit(rng, 3000, 32)
    d[100:110] = d[7]  # ten exact copies: equal scores, ranked by doc id
    dids = [f"x{v:05d}" for v in rng.permutation(3000)]
    qids = [f"q{i}" for i in range(25)]
    exclude = {"q0": {dids[7], dids[104]}, "q3": {dids[0]}}
    run = exact_search(q, d, qids, dids, top_k=20, exclude=exclude, engine="bf16")
    ref = exact_search(q, d, qids, dids, top_k=20, exclude=exclude, engine="torch")
    assert {k: list(v) for k, v in run.items()} == {k: list(v) for k, v in ref.items()}
    assert dids[7] not in run["q0"] and dids[104] not in run["q0"]
