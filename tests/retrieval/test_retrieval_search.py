"""Exact chunked top-k: agreement with brute force, chunk invariance, ties, exclusions; FAISS backends."""

from __future__ import annotations

import numpy as np
import pytest

from polyret.retrieval.faiss_index import FaissIndex, faiss_search
from polyret.retrieval.search import exact_search, topk_indices


def _data(n_q=37, n_d=500, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((n_q, dim)).astype(np.float32)
    return q, rng.standard_normal((n_d, dim)).astype(np.float32)


def _brute(q, d, k):
    scores = q @ d.T
    order = np.lexsort((np.broadcast_to(np.arange(d.shape[0]), scores.shape), -scores), axis=1)[:, :k]
    return np.take_along_axis(scores, order, 1), order


@pytest.mark.parametrize("query_chunk,doc_chunk", [(1, 7), (5, 64), (1000, 1000), (8, 499)])
def test_topk_matches_brute_force_for_any_chunking(query_chunk, doc_chunk):
    q, d = _data()
    s, i = topk_indices(q, d, 10, query_chunk=query_chunk, doc_chunk=doc_chunk)
    ref_s, ref_i = _brute(q, d, 10)
    np.testing.assert_array_equal(i, ref_i)
    np.testing.assert_allclose(s, ref_s, rtol=1e-5, atol=1e-5)


def test_ties_break_by_lowest_index_across_chunks():
    q = np.ones((2, 4), dtype=np.float32)
    d = np.zeros((50, 4), dtype=np.float32)
    d[[3, 17, 30, 44]] = 1.0  # four equal best scores spread over chunks
    _, i = topk_indices(q, d, 6, doc_chunk=8)
    assert i[0].tolist()[:4] == [3, 17, 30, 44]
    assert i[0].tolist()[4:] == [0, 1]  # then the zeros, lowest index first


def test_exact_search_ties_by_doc_id_independent_of_order():
    q = np.ones((1, 2), dtype=np.float32)
    d = np.ones((5, 2), dtype=np.float32)
    ids = ["e", "b", "d", "a", "c"]
    run = exact_search(q, d, ["q"], ids, top_k=3, chunk_size=2)
    assert list(run["q"]) == ["a", "b", "c"]


def test_exact_search_run_and_exclusions():
    q, d = _data(n_q=4, n_d=30)
    qids, dids = [f"q{i}" for i in range(4)], [f"d{i:02d}" for i in range(30)]
    run = exact_search(q, d, qids, dids, top_k=5)
    best = run["q0"]
    assert len(best) == 5 and list(best.values()) == sorted(best.values(), reverse=True)
    top = next(iter(best))
    excluded = exact_search(q, d, qids, dids, top_k=5, exclude={"q0": {top}}, chunk_size=4)
    assert top not in excluded["q0"] and len(excluded["q0"]) == 5
    assert excluded["q1"] == run["q1"]


def test_top_k_larger_than_corpus_and_empty_queries():
    q, d = _data(n_q=2, n_d=3)
    run = exact_search(q, d, ["a", "b"], ["x", "y", "z"], top_k=10)
    assert all(len(r) == 3 for r in run.values())
    run = exact_search(q, d, ["a", "b"], ["x", "y", "z"], top_k=10, exclude={"a": {"x", "y", "z"}})
    assert run["a"] == {}
    assert exact_search(q[:0], d, [], ["x", "y", "z"]) == {}


def test_bad_inputs_are_rejected():
    q, d = _data(n_q=2, n_d=3)
    with pytest.raises(ValueError, match="ids and embeddings disagree"):
        exact_search(q, d, ["a"], ["x", "y", "z"])
    with pytest.raises(ValueError, match="duplicates"):
        exact_search(q, d, ["a", "b"], ["x", "x", "z"])
    with pytest.raises(ValueError, match=r"\(Q, D\)"):
        topk_indices(q, d[:, :3], 2)


def test_faiss_flat_equals_exact_search():
    q, d = _data(n_q=20, n_d=400, seed=3)
    qids, dids = [f"q{i}" for i in range(20)], [f"d{i:03d}" for i in range(400)]
    exact = exact_search(q, d, qids, dids, top_k=10)
    flat = faiss_search(q, d, qids, dids, top_k=10, kind="flat")
    assert {k: list(v) for k, v in flat.items()} == {k: list(v) for k, v in exact.items()}


@pytest.mark.parametrize("kind,options", [("ivf", {"nlist": 8, "nprobe": 8}), ("hnsw", {"ef_search": 64})])
def test_approximate_indexes_have_high_recall(kind, options):
    q, d = _data(n_q=50, n_d=2000, seed=4)
    qids, dids = [f"q{i}" for i in range(50)], [f"d{i:04d}" for i in range(2000)]
    exact = exact_search(q, d, qids, dids, top_k=10)
    approx = faiss_search(q, d, qids, dids, top_k=10, kind=kind, **options)
    recall = np.mean([len(set(exact[k]) & set(approx[k])) / 10 for k in qids])
    assert recall >= 0.9  # nprobe == nlist makes IVF exhaustive


def test_unknown_faiss_kind():
    with pytest.raises(ValueError, match="unknown FAISS index kind"):
        FaissIndex(4, kind="lsh")


@pytest.mark.parametrize("engine", ["faiss", "bf16"])
@pytest.mark.parametrize("seed", range(6))
def test_faiss_engine_equals_torch_engine_with_many_ties_orders_and_exclusions(seed, engine):
    """Scores from a few integer levels (exact in every precision): ties everywhere, also straddling
    the cut; the FAISS candidates and the certified bf16 ones (with its FAISS fallback rows)."""
    rng = np.random.default_rng(seed)
    n_q, n_d = 23, 300
    q = rng.integers(0, 3, (n_q, 4)).astype(np.float32)
    d = rng.integers(0, 3, (n_d, 4)).astype(np.float32)
    order = rng.permutation(n_d) if seed % 2 else None
    exclude = {r: set(rng.choice(n_d, size=int(rng.integers(0, 5)), replace=False).tolist())
               for r in range(0, n_q, 3)}
    for k in (1, 7, 40, n_d):
        ref = topk_indices(q, d, k, doc_chunk=37, exclude=exclude, doc_order=order, engine="torch")
        got = topk_indices(q, d, k, doc_chunk=37, exclude=exclude, doc_order=order, engine=engine)
        np.testing.assert_array_equal(got[1], ref[1])
        np.testing.assert_array_equal(got[0], ref[0])


def test_faiss_engine_ties_by_doc_id_straddling_the_cut():
    q = np.ones((1, 2), dtype=np.float32)
    d = np.ones((200, 2), dtype=np.float32)  # 200 equal scores, k = 5: FAISS keeps 6 arbitrary ones
    ids = [f"d{i:03d}" for i in range(200)][::-1]
    run = exact_search(q, d, ["q"], ids, top_k=5)
    assert list(run["q"]) == ["d000", "d001", "d002", "d003", "d004"]


@pytest.mark.parametrize("seed", range(4))
def test_exact_search_ties_by_doc_id_with_exclusions_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_q, n_d = 15, 120
    q = rng.integers(0, 3, (n_q, 3)).astype(np.float32)
    d = rng.integers(0, 3, (n_d, 3)).astype(np.float32)
    dids = [f"x{v}" for v in rng.permutation(10 * n_d)[:n_d]]  # ids unrelated to row order
    qids = [f"q{i}" for i in range(n_q)]
    exclude = {f"q{i}": set(rng.choice(dids, size=3, replace=False).tolist()) for i in range(0, n_q, 2)}
    for k in (1, 5, 30):
        run = exact_search(q, d, qids, dids, top_k=k, exclude=exclude)
        scores = q @ d.T
        for r, qid in enumerate(qids):
            ranked = sorted((c for c in range(n_d) if dids[c] not in exclude.get(qid, ())),
                            key=lambda c: (-scores[r, c], dids[c]))[:k]
            assert list(run[qid]) == [dids[c] for c in ranked]
