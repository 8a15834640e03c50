"""Vectorised pool metrics against sklearn and hand-worked rankings, ties included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from polyret.evaluation.ranking import pad_relevant, pool_metrics


def _sklearn_ap(scores: np.ndarray, relevant: list[int]) -> float:
    y = np.zeros(scores.shape[0])
    y[relevant] = 1
    return float(average_precision_score(y, scores))


def test_hand_worked_ranking():
    # pool order by score: c3 (0.9), c0 (0.8), c2 (0.5), c1 (0.1); relevant c0 and c1
    scores = np.array([[0.8, 0.1, 0.5, 0.9]])
    m = pool_metrics(None, None, pad_relevant([[0, 1]]), ks=(1, 2, 4), scores=scores)
    assert m.ranks.tolist() == [[2, 4]]
    assert m.ap[0] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert m.rr[0] == pytest.approx(1 / 2)
    assert m.recall[1][0] == 0 and m.recall[2][0] == 0.5 and m.recall[4][0] == 1
    assert m.success[1][0] == 0 and m.success[2][0] == 1


def test_ties_are_pessimistic_like_sklearn():
    # the relevant candidate ties with two others at the top: ranked after both
    scores = np.array([[1.0, 1.0, 1.0, 0.0]])
    m = pool_metrics(None, None, pad_relevant([[1]]), ks=(1, 3), scores=scores)
    assert m.ranks[0, 0] == 3
    assert m.ap[0] == pytest.approx(1 / 3) == pytest.approx(_sklearn_ap(scores[0], [1]))
    assert m.rr[0] == pytest.approx(1 / 3)
    assert m.success[1][0] == 0 and m.success[3][0] == 1


@pytest.mark.parametrize("levels", [3, 1000])
def test_ap_matches_sklearn_on_random_pools(levels):
    rng = np.random.default_rng(levels)
    n_q, n_pool = 300, 40
    scores = rng.integers(0, levels, size=(n_q, n_pool)).astype(np.float64)  # levels=3: many ties
    rel = [sorted(rng.choice(n_pool, size=rng.integers(1, 6), replace=False).tolist()) for _ in range(n_q)]
    m = pool_metrics(None, None, pad_relevant(rel), scores=scores, chunk_size=64)
    expected = np.array([_sklearn_ap(scores[i], rel[i]) for i in range(n_q)])
    np.testing.assert_allclose(m.ap, expected, rtol=0, atol=1e-12)


def test_embeddings_path_equals_score_path_and_topk_is_stable():
    rng = np.random.default_rng(0)
    q, c = rng.standard_normal((7, 5)), rng.standard_normal((20, 5))
    c[3] = c[4]  # a duplicate candidate: an exact tie
    rel = pad_relevant([[4], [1, 2], [0, 3, 5], [19], [4, 3], [7], [8, 9]])
    a = pool_metrics(q, c, rel, top=5, chunk_size=3)
    b = pool_metrics(None, None, rel, scores=q @ c.T, top=5)
    np.testing.assert_array_equal(a.ap, b.ap)
    np.testing.assert_array_equal(a.topk, b.topk)
    s = q @ c.T
    for i in range(7):
        expected = sorted(range(20), key=lambda j, i=i: (-s[i, j], j))[:5]
        assert a.topk[i].tolist() == expected


def test_query_without_relevant_scores_zero_and_bad_index_raises():
    scores = np.array([[0.3, 0.2], [0.1, 0.4]])
    m = pool_metrics(None, None, np.array([[0], [-1]]), scores=scores)
    assert m.ap.tolist() == [1.0, 0.0] and m.rr.tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="outside a pool of 2"):
        pool_metrics(None, None, np.array([[2]]), scores=scores[:1])


def test_stable_topk_breaks_boundary_ties_by_index():
    import torch

    from polyret.evaluation.ranking import stable_topk

    scores = torch.tensor([[1.0, 2.0, 2.0, 2.0, 0.0, 3.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    assert stable_topk(scores, 3).tolist() == [[5, 1, 2], [0, 1, 2]]


@pytest.mark.parametrize("levels", [2, 5, 10_000])
def test_stable_topk_matches_a_python_sort_with_and_without_ties_at_the_cut(levels):
    import torch

    from polyret.evaluation.ranking import count_at_least, stable_topk

    rng = np.random.default_rng(levels)
    scores = rng.integers(0, levels, size=(64, 50)).astype(np.float32)  # levels=2, 5: ties at the cut
    for k in (1, 7, 50):
        got = stable_topk(torch.as_tensor(scores), k).numpy()
        for i in range(len(scores)):
            assert got[i].tolist() == sorted(range(50), key=lambda j, i=i: (-scores[i, j], j))[:k]
    # counts of scores >= each threshold, inf thresholds (padding) count 0, any number of thresholds
    for width in (1, 2, 11):
        thr = scores[:, :width].copy()
        thr[::3, -1] = np.inf
        got = count_at_least(torch.as_tensor(scores), torch.as_tensor(thr)).numpy()
        np.testing.assert_array_equal(got, (scores[:, :, None] >= thr[:, None, :]).sum(1))
