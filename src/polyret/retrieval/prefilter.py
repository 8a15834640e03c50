"""Certified bf16 prefilter for exact top-k inner-product search on CPUs with bf16 matrix units.

The corpus is scanned in bf16 (where bf16 matrix products are ~5x fp32, see
:mod:`polyret.hardware`); every document that could belong to a query's exact top-k is kept, then
re-scored exactly (float64 dot products of the fp32 embeddings). Nothing is approximate: the bf16
scores only decide what to re-score, through a proven error bound.

Bound. With unit roundoff ``u = 2**-8`` (bf16) and fp32 accumulation over ``D`` terms, the bf16
score ``a`` of a query ``q`` and a document ``d`` differs from the exact ``q . d`` by at most
``delta = (3u + 4u^2 + 2 D 2^-24) |q| |d|``: ``2u`` from rounding both inputs, ``u`` from rounding
the output, the rest from the fp32 sum. Let ``A_m`` be the m-th best bf16 score of a query, where
m = k plus the number of documents excluded for it. The exact k-th best score is then at least
``A_m - delta``, so every document of the exact top-k (ties at the k-th score included) has a bf16
score of at least ``T = A_m - 2 delta``. Each block of documents keeps its ``keep`` best bf16
scores; a query is *certified* when, in every block, the lowest kept score is below ``T`` (nothing
at or above ``T`` was cut). Certified queries are ranked exactly from their candidates; the others
are returned as undecided, for the exact fp32 path.
"""

from __future__ import annotations

import numpy as np
import torch

BF16_UNIT_ROUNDOFF = 2.0**-8
FP32_UNIT_ROUNDOFF = 2.0**-24
MIN_KEEP = 64  # best bf16 scores kept per (query, block): 32 left ~10 % of random queries undecided
RETRY_KEEP_FACTOR = 8  # undecided rows: one more pass keeping this many times as many
BF16_MIN_DOCS = 65536  # below this the bf16 scan does not pay for its extra passes (measured)
BF16_DOCS_PER_K = 2048  # nor below 2,048 docs per result: re-scoring grows with k (top-100 at 100k lost)
BF16_MAX_EXCLUDED = 64  # more excluded docs per query than this: FAISS candidates


def error_bound(dim: int) -> float:
    """``delta / (|q| |d|)``: the largest bf16-vs-exact score error per unit of the norms' product."""
    u = BF16_UNIT_ROUNDOFF
    return (3 * u + 4 * u * u + 2 * dim * FP32_UNIT_ROUNDOFF) * 1.001  # 0.1 % margin on top


def _block_candidates(q_bf16: torch.Tensor, doc_emb: np.ndarray, keep: int, doc_chunk: int,
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """Scan the corpus in bf16: each block's ``keep`` best scores and rows per query, each block's
    lowest kept score (-inf where the block is shorter than ``keep``), and the largest doc norm.
    Returns (Q, B*keep) scores, (Q, B*keep) rows, (Q, B) lowest kept scores, max norm."""
    scores, rows, lowest = [], [], []
    max_norm = 0.0
    for d0 in range(0, doc_emb.shape[0], doc_chunk):
        block = torch.from_numpy(doc_emb[d0 : d0 + doc_chunk])  # (Nc, D) fp32, no copy
        max_norm = max(max_norm, float(torch.linalg.vector_norm(block, dim=1).max()))
        s = q_bf16 @ block.to(torch.bfloat16).T  # (Q, Nc) bf16, fp32 accumulation
        n_keep = min(keep, s.shape[1])
        v, i = torch.topk(s, n_keep, dim=1)  # (Q, n_keep) sorted desc
        v = v.float()
        scores.append(v)
        rows.append(i + d0)
        lowest.append(v[:, -1] if n_keep < s.shape[1] else torch.full_like(v[:, -1], -torch.inf))
    return torch.cat(scores, 1), torch.cat(rows, 1), torch.stack(lowest, 1), max_norm


def _exact_scores(query_emb: np.ndarray, doc_emb: np.ndarray, counts: np.ndarray, d_rows: np.ndarray,
                  ) -> np.ndarray:
    """float64 dot products of each query with its candidates (``counts[r]`` consecutive entries of
    ``d_rows`` per query row ``r``): (P,)."""
    out = np.empty(len(d_rows), dtype=np.float64)
    ends = np.cumsum(counts)
    for r, (lo, hi) in enumerate(zip((ends - counts).tolist(), ends.tolist(), strict=True)):
        if hi > lo:
            out[lo:hi] = doc_emb[d_rows[lo:hi]].astype(np.float64) @ query_emb[r].astype(np.float64)
    return out


def bf16_candidates(query_emb: np.ndarray, doc_emb: np.ndarray, need: np.ndarray, doc_chunk: int = 32768,
                    keep: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exactly scored candidates of every query's top-``need[row]`` (see the module docstring).

    Args:
        query_emb: (Q, D) float32; doc_emb: (N, D) float32, C-contiguous.
        need: (Q,) int, per query k plus the number of documents excluded for it.
        keep: best bf16 scores kept per (query, block) (default: ``MIN_KEEP`` or ``need``).

    Returns:
        scores (Q, C) float64 (-inf padding), doc rows (Q, C) int64, and the rows that could not be
        certified (their candidates may miss documents of the top-k: rank them another way). Each
        certified row holds every document whose exact score can reach its top-``need``.
    """
    n_q, dim = query_emb.shape
    keep = max(keep or MIN_KEEP, int(need.max()))
    q = torch.from_numpy(np.ascontiguousarray(query_emb, dtype=np.float32))
    with torch.inference_mode():
        a, rows, lowest, max_norm = _block_candidates(q.to(torch.bfloat16), doc_emb, keep, doc_chunk)
        best = torch.sort(a, dim=1, descending=True).values  # (Q, B*keep)
        a_m = best.gather(1, torch.from_numpy(np.minimum(need, best.shape[1]) - 1).view(-1, 1)).squeeze(1)
        delta = error_bound(dim) * torch.linalg.vector_norm(q, dim=1) * max_norm  # (Q,)
        threshold = a_m - 2 * delta  # (Q,)
        undecided = (lowest >= threshold[:, None]).any(dim=1) | ~torch.isfinite(threshold)
        kept = (a >= threshold[:, None]) & ~undecided[:, None]  # (Q, B*keep)
        q_rows, cols = torch.nonzero(kept, as_tuple=True)  # row-major
    d_rows = rows[q_rows, cols].numpy()
    q_rows = q_rows.numpy()
    counts = np.bincount(q_rows, minlength=n_q)
    exact = _exact_scores(query_emb, doc_emb, counts, d_rows)
    width = max(int(counts.max(initial=0)), 1)
    slot = np.arange(len(q_rows)) - np.repeat(np.cumsum(counts) - counts, counts)  # position in its row
    scores = np.full((n_q, width), -np.inf)
    idx = np.zeros((n_q, width), dtype=np.int64)
    scores[q_rows, slot], idx[q_rows, slot] = exact, d_rows
    return scores, idx, np.flatnonzero(undecided.numpy())


def use_bf16_scan(engine: str, n_d: int, exclude: dict | None, k: int = 10) -> bool:
    """The certified bf16 prefilter: forced by ``engine="bf16"``; with ``auto`` on a large corpus
    where bf16 matrix products are measured fast (:func:`polyret.hardware.resolve_precision`)."""
    if engine == "bf16":
        return True
    if engine != "auto" or n_d < max(BF16_MIN_DOCS, BF16_DOCS_PER_K * k):
        return False
    if exclude and max(len(v) for v in exclude.values()) > BF16_MAX_EXCLUDED:
        return False
    from polyret.hardware import resolve_precision

    return resolve_precision("auto", "cpu") == "bf16"


def put_rows(s: np.ndarray, i: np.ndarray, rows: np.ndarray, s_new: np.ndarray, i_new: np.ndarray,
              ) -> tuple[np.ndarray, np.ndarray]:
    """``s``/``i`` (Q, C) with ``rows`` replaced by (R, C') ``s_new``/``i_new``, widened to
    max(C, C') with -inf / 0 padding."""
    width = max(s.shape[1], s_new.shape[1])

    def widen(x: np.ndarray, fill) -> np.ndarray:
        return np.pad(x, ((0, 0), (0, width - x.shape[1])), constant_values=fill)

    s, i = widen(s, -np.inf), widen(i, 0)
    s[rows], i[rows] = widen(s_new, -np.inf), widen(i_new, 0)
    return s, i


def certified_candidates(query_emb: np.ndarray, doc_emb: np.ndarray, need: np.ndarray,
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`bf16_candidates`, then once more for the undecided rows keeping
    :data:`RETRY_KEEP_FACTOR` times as many scores per block; returns the same triple (rows still
    undecided after both passes last)."""
    s, i, undecided = bf16_candidates(query_emb, doc_emb, need)
    if len(undecided):
        s2, i2, still = bf16_candidates(np.ascontiguousarray(query_emb[undecided]), doc_emb, need[undecided],
                                        keep=RETRY_KEEP_FACTOR * MIN_KEEP)
        s, i = put_rows(s, i, undecided, s2, i2)
        undecided = undecided[still]
    return s, i, undecided
