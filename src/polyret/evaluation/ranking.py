"""Vectorised ranking metrics over dense score matrices (LAReQA pools).

Every query is scored against every candidate of a pool; a query's relevant candidates are given as
column indices. A 13k x 13k pool (XQuAD-R Multi) takes seconds.

Ranks are counts of candidates scoring at least as high, computed in one pass over a query's row
without sorting it: each candidate's score is located among the query's *sorted relevant scores*
(``searchsorted``, log R steps with R relevant), the positions are histogrammed, and a reverse
cumulative sum gives, for each relevant score, how many candidates score at least as high. That
costs O(P log R) per query instead of a full O(P log P) sort of the pool.

Memory is bounded: queries are scored in chunks of at most ``chunk_size`` rows and at most
:data:`MAX_BLOCK` scores per chunk (a 1M-candidate pool is scored 32 queries at a time).

**Ties** are broken pessimistically, which is the convention of
``sklearn.metrics.average_precision_score``: a candidate's rank is the number of candidates that
score *at least* as high as it (itself included), and the precision credited to a relevant candidate
is ``#relevant scoring >= s / #candidates scoring >= s``. So

    AP(q) = 1/|R| * sum_{r in R} |{j in R: s_j >= s_r}| / |{j: s_j >= s_r}|

equals sklearn's value exactly, ties included. Top-k lists (for language shares) are ordered by
score, ties by candidate index (a stable sort).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

DEFAULT_KS = (1, 10)
MAX_BLOCK = 1 << 25  # scores per chunk (128 MiB of float32)


@dataclass
class PoolMetrics:
    """Per-query metrics of one (queries x pool) block; arrays have one row per query."""

    ap: np.ndarray  # (Q,) average precision over the full ranking
    rr: np.ndarray  # (Q,) reciprocal rank of the best-ranked relevant candidate
    recall: dict[int, np.ndarray]  # k -> (Q,) share of the relevant candidates ranked <= k
    success: dict[int, np.ndarray]  # k -> (Q,) 1 if any relevant candidate ranked <= k
    ranks: np.ndarray  # (Q, R) pessimistic 1-based ranks of the relevant candidates, 0 = padding
    topk: np.ndarray | None = None  # (Q, K) pool indices of the top-K candidates (stable order)

    def as_columns(self) -> dict[str, np.ndarray]:
        """Flat ``metric name -> (Q,)`` columns (``ir_measures`` names: AP, RR, R@k, Success@k)."""
        cols = {"AP": self.ap, "RR": self.rr}
        cols.update({f"R@{k}": v for k, v in self.recall.items()})
        cols.update({f"Success@{k}": v for k, v in self.success.items()})
        return cols


def pad_relevant(relevant: list[list[int]]) -> np.ndarray:
    """Lists of relevant pool indices -> (Q, R) int64 array padded with -1."""
    width = max((len(r) for r in relevant), default=0)
    out = np.full((len(relevant), max(width, 1)), -1, dtype=np.int64)
    for i, rel in enumerate(relevant):
        out[i, : len(rel)] = rel
    return out


def stable_topk(scores: torch.Tensor, k: int) -> torch.Tensor:
    """(B, P) scores -> (B, k) indices of the top k, ordered by score desc, then index asc (exact ties).

    ``topk``, then one pass to find the rows where a candidate outside the top k ties with the
    k-th score; only those rows take the exact path, which picks the lowest-index tied candidates.
    """
    vals, idx = scores.topk(k, dim=1)  # (B, k)
    kth = vals[:, -1:]  # (B, 1) the k-th largest score
    tied = (scores == kth).sum(1, dtype=torch.int32) != (vals == kth).sum(1, dtype=torch.int32)  # (B,)
    idx, perm = idx.sort(dim=1)  # ascending index, then a stable sort by score
    order = vals.gather(1, perm).sort(dim=1, descending=True, stable=True).indices
    idx = idx.gather(1, order)
    rows = tied.nonzero()[:, 0]
    if rows.numel():
        idx[rows] = _exact_topk(scores.index_select(0, rows), k)
    return idx


def _exact_topk(scores: torch.Tensor, k: int) -> torch.Tensor:
    """:func:`stable_topk` for rows with ties across the cut: the lowest-index tied candidates."""
    kth = scores.topk(k, dim=1).values[:, -1:]  # (B, 1)
    above, tied = scores > kth, scores == kth  # (B, P)
    room = k - above.sum(1, keepdim=True, dtype=torch.int32)  # (B, 1) places left for ties, lowest first
    chosen = above | (tied & (tied.cumsum(1, dtype=torch.int32) <= room))  # exactly k per row
    idx = chosen.nonzero()[:, 1].view(-1, k)  # (B, k) ascending index
    order = scores.gather(1, idx).sort(dim=1, descending=True, stable=True).indices
    return idx.gather(1, order)


def count_at_least(scores: torch.Tensor, thresholds: torch.Tensor) -> torch.Tensor:
    """(B, P) scores, (B, R) thresholds -> (B, R) int64: how many scores of the row are >= each.

    One pass over the scores: ``searchsorted`` into the row's sorted thresholds gives, per
    candidate, how many thresholds it reaches; a histogram of those and a reverse cumulative sum
    give the counts. An ``inf`` threshold (padding) counts 0.
    """
    n_rows, n_thr = thresholds.shape
    if n_thr <= 2:  # one or two comparison passes beat the search + histogram
        counts = [(scores >= thresholds[:, r : r + 1]).sum(1, dtype=torch.int32) for r in range(n_thr)]
        return torch.stack(counts, 1).to(torch.int64)  # (B, R); an int32 sum is faster than a bool one
    sorted_thr, order = thresholds.sort(dim=1)  # (B, R) ascending
    reached = torch.searchsorted(sorted_thr.contiguous(), scores.contiguous(), right=True)  # (B, P) in [0, R]
    hist = torch.zeros(n_rows, n_thr + 1, dtype=torch.int64, device=scores.device)  # (B, R + 1)
    one = torch.ones(1, 1, dtype=torch.int64, device=scores.device)
    hist.scatter_add_(1, reached, one.expand_as(reached))
    at_least = hist.flip(1).cumsum(1).flip(1)[:, 1:]  # (B, R): candidates reaching the k-th smallest
    return torch.empty_like(at_least).scatter_(1, order, at_least)  # back to the thresholds' order


def block_metrics(
    scores: torch.Tensor, rel: torch.Tensor, ks: tuple[int, ...], top: int
) -> tuple[torch.Tensor, ...]:
    """Metrics for one chunk (see :func:`stack_blocks`). scores (B, P), rel (B, R) with -1 padding."""
    n_pool = scores.shape[1]
    mask = rel >= 0  # (B, R)
    rel_scores = scores.gather(1, rel.clamp(min=0))  # (B, R)
    topk = stable_topk(scores, top) if top > 0 else None  # (B, K)
    n_ge = count_at_least(scores, torch.where(mask, rel_scores, torch.inf))  # (B, R)
    # relevant candidates scoring >= the relevant one (itself included)
    ge = (rel_scores[:, None, :] >= rel_scores[:, :, None]) & mask[:, None, :]  # (B, R, R)
    hits = ge.sum(-1)  # (B, R)
    f64 = torch.float64  # metric arithmetic in double precision whatever the score dtype
    n_rel = mask.sum(1).clamp(min=1).to(f64)  # (B,)
    precision = torch.where(mask, hits.to(f64) / n_ge.to(f64), 0.0)
    ap = precision.sum(1) / n_rel
    ranks = torch.where(mask, n_ge, torch.zeros_like(n_ge))
    best = torch.where(mask, n_ge, torch.full_like(n_ge, n_pool + 1)).min(1).values
    rr = torch.where(mask.any(1), 1.0 / best.to(f64), 0.0)
    recall, success = [], []
    for k in ks:
        within = (ranks > 0) & (ranks <= k)  # (B, R)
        recall.append(within.sum(1).to(f64) / n_rel)
        success.append(within.any(1).to(f64))
    return ap, rr, torch.stack(recall, 1), torch.stack(success, 1), ranks, topk


def pool_metrics(
    queries: np.ndarray | torch.Tensor,
    pool: np.ndarray | torch.Tensor,
    relevant: np.ndarray,
    ks: tuple[int, ...] = DEFAULT_KS,
    top: int = 0,
    chunk_size: int = 512,
    scores: np.ndarray | None = None,
) -> PoolMetrics:
    """Rank a pool for every query and return per-query metrics.

    Args:
        queries: (Q, D) query embeddings (scores are dot products; normalise for cosine).
        pool: (P, D) candidate embeddings.
        relevant: (Q, R) pool indices of each query's relevant candidates, -1 padded
            (see :func:`pad_relevant`). A query without relevant candidates gets 0 everywhere.
        ks: cut-offs for R@k and Success@k.
        top: also return the top-``top`` pool indices per query (0: skip).
        chunk_size: queries scored at once (memory: a few chunk_size x P arrays).
        scores: a precomputed (Q, P) score matrix instead of embeddings (tests, BM25).
    """
    relevant = np.asarray(relevant, dtype=np.int64)
    n_queries = relevant.shape[0]
    if scores is not None:
        score_t = torch.as_tensor(scores)
        n_pool = score_t.shape[1]
    else:
        q_t, p_t = torch.as_tensor(queries), torch.as_tensor(pool)
        n_pool = p_t.shape[0]
        if q_t.shape[0] != n_queries:
            raise ValueError(f"{q_t.shape[0]} query embeddings but {n_queries} rows of relevant ids")
    if relevant.size and relevant.max() >= n_pool:
        raise ValueError(f"relevant index {int(relevant.max())} outside a pool of {n_pool}")
    top = min(top, n_pool)
    rel_t = torch.as_tensor(relevant)
    chunk_size = max(1, min(chunk_size, MAX_BLOCK // max(n_pool, 1)))
    parts = []
    for start in range(0, n_queries, chunk_size):
        stop = min(start + chunk_size, n_queries)
        block = score_t[start:stop] if scores is not None else q_t[start:stop] @ p_t.T  # (B, P)
        parts.append(block_metrics(block, rel_t[start:stop], tuple(ks), top))
    return stack_blocks(parts, tuple(ks), relevant.shape[1], top)


def stack_blocks(parts: list[tuple], ks: tuple[int, ...], width: int, top: int) -> PoolMetrics:
    """One :class:`PoolMetrics` from the :func:`block_metrics` of consecutive query chunks."""
    if not parts:
        empty = np.zeros(0)
        return PoolMetrics(
            empty,
            empty,
            {k: empty for k in ks},
            {k: empty for k in ks},
            np.zeros((0, width), dtype=np.int64),
            np.zeros((0, top), dtype=np.int64) if top else None,
        )
    ap, rr, rec, suc, ranks, topk = (
        torch.cat([p[i] for p in parts]) if parts[0][i] is not None else None for i in range(6)
    )
    rec_np, suc_np = rec.double().numpy(), suc.double().numpy()
    return PoolMetrics(
        ap=ap.double().numpy(),
        rr=rr.double().numpy(),
        recall={k: rec_np[:, i] for i, k in enumerate(ks)},
        success={k: suc_np[:, i] for i, k in enumerate(ks)},
        ranks=ranks.numpy(),
        topk=None if topk is None else topk.numpy(),
    )
