"""Exact top-k search by chunked matrix products, with deterministic ties.

Memory is bounded by ``query_chunk x doc_chunk`` scores at a time: the corpus is scanned in chunks,
each chunk's top-k is merged into a running top-k. Ties are broken by score descending, then doc
index ascending (``topk_indices``) or doc id ascending (``exact_search``, which orders the corpus by
doc id first), so results do not depend on chunk sizes or input order.
"""

from __future__ import annotations

import numpy as np
import torch

from polyret.types import Run

DEFAULT_QUERY_CHUNK = 1024
DEFAULT_DOC_CHUNK = 32768


def _as_tensor(x: np.ndarray | torch.Tensor, device: str | torch.device) -> torch.Tensor:
    t = torch.as_tensor(x)
    if t.dtype != torch.float32:
        t = t.float()
    return t.to(device)


def _sort_desc_stable(scores: torch.Tensor, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sort each row by (score desc, index asc). (Q, M) -> (Q, M)."""
    by_index = torch.argsort(index, dim=1, stable=True)
    scores, index = scores.gather(1, by_index), index.gather(1, by_index)
    by_score = torch.argsort(scores, dim=1, descending=True, stable=True)
    return scores.gather(1, by_score), index.gather(1, by_score)


def _chunk_topk(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Exactly ``k`` entries per row of (Q, M) ``scores``: everything above the k-th value plus the
    lowest-index entries equal to it (so ties at the cut are deterministic). Returns (Q, k) pairs.

    ``torch.topk`` is used as is where the cut is unambiguous (the (k+1)-th value differs from the
    k-th); only rows with ties straddling the cut take the slower exact path."""
    extra = int(k < scores.shape[1])  # one more value tells whether ties straddle the cut
    vals, cols = torch.topk(scores, k + extra, dim=1)  # (Q, k + extra), sorted desc
    if extra:
        ambiguous = torch.nonzero(vals[:, k] == vals[:, k - 1], as_tuple=True)[0]
        vals, cols = vals[:, :k], cols[:, :k]
    else:
        ambiguous = vals.new_zeros(0, dtype=torch.long)
    kth = vals[:, -1:]  # (Q, 1)
    if len(ambiguous):
        sub = scores[ambiguous]  # (A, M)
        above = sub > kth[ambiguous]
        need = k - above.sum(dim=1, keepdim=True)  # (A, 1)
        equal = sub == kth[ambiguous]
        keep = above | (equal & (torch.cumsum(equal, dim=1) <= need))  # exactly k per row
        _, fixed = torch.nonzero(keep, as_tuple=True)  # row-major: each row's k entries contiguous
        fixed = fixed.view(len(ambiguous), k)
        cols = cols.clone()
        cols[ambiguous] = fixed
        vals = scores.gather(1, cols)
    return vals, cols


def topk_indices(
    query_emb: np.ndarray | torch.Tensor,
    doc_emb: np.ndarray | torch.Tensor,
    k: int,
    query_chunk: int = DEFAULT_QUERY_CHUNK,
    doc_chunk: int = DEFAULT_DOC_CHUNK,
    exclude: dict[int, set[int]] | None = None,
    device: str | torch.device = "cpu",
    doc_order: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k inner products of every query against every document.

    Args:
        query_emb: (Q, D) float.
        doc_emb: (N, D) float.
        k: results per query (capped at N).
        query_chunk, doc_chunk: chunk sizes bounding memory to query_chunk x doc_chunk scores.
        exclude: query row -> doc rows that must not be returned (their score becomes -inf).
        device: where the products run (``cpu`` or ``cuda``).
        doc_order: optional permutation; the search then runs over ``doc_emb[doc_order]`` (taken
            one chunk at a time, so no full copy) and indices refer to that order.

    Returns:
        scores (Q, k) float32 and indices (Q, k) int64, sorted by score desc, index asc. Excluded
        pairs that had to fill the list (k > allowed docs) come back with score -inf.
    """
    if query_emb.ndim != 2 or doc_emb.ndim != 2 or query_emb.shape[1] != doc_emb.shape[1]:
        raise ValueError(f"need (Q, D) and (N, D) arrays, got {tuple(query_emb.shape)} "
                         f"and {tuple(doc_emb.shape)}")
    if k < 1 or query_chunk < 1 or doc_chunk < 1:
        raise ValueError("k, query_chunk and doc_chunk must be >= 1")
    n_q, n_d = query_emb.shape[0], doc_emb.shape[0]
    k = min(k, n_d)
    out_s = np.full((n_q, k), -np.inf, dtype=np.float32)
    out_i = np.zeros((n_q, k), dtype=np.int64)
    if n_q == 0 or k == 0:
        return out_s, out_i

    def chunk(d0: int) -> torch.Tensor:  # (Nc, D)
        if doc_order is None:
            return _as_tensor(doc_emb[d0 : d0 + doc_chunk], device)
        return _as_tensor(doc_emb[doc_order[d0 : d0 + doc_chunk]], device)

    with torch.inference_mode():
        for q0 in range(0, n_q, query_chunk):
            q = _as_tensor(query_emb[q0 : q0 + query_chunk], device)  # (Qc, D)
            best_s = best_i = None
            for d0 in range(0, n_d, doc_chunk):
                d = chunk(d0)
                scores = q @ d.T  # (Qc, Nc)
                if exclude:
                    for row in range(q.shape[0]):
                        for j in exclude.get(q0 + row, ()):
                            if d0 <= j < d0 + d.shape[0]:
                                scores[row, j - d0] = -torch.inf
                s, i = _chunk_topk(scores, min(k, d.shape[0]))
                i = i + d0
                if best_s is None:
                    best_s, best_i = s, i
                else:
                    best_s, best_i = _sort_desc_stable(torch.cat([best_s, s], 1), torch.cat([best_i, i], 1))
                    best_s, best_i = best_s[:, :k], best_i[:, :k]
            best_s, best_i = _sort_desc_stable(best_s, best_i)
            out_s[q0 : q0 + q.shape[0]] = best_s.cpu().numpy()
            out_i[q0 : q0 + q.shape[0]] = best_i.cpu().numpy()
    return out_s, out_i


def run_from_topk(scores: np.ndarray, indices: np.ndarray, query_ids: list[str], doc_ids: list[str]) -> Run:
    """(Q, k) score / index matrices -> Run; -inf entries (excluded) are dropped."""
    run: Run = {}
    for qi, qid in enumerate(query_ids):
        row = {}
        for s, j in zip(scores[qi], indices[qi], strict=True):
            if np.isfinite(s):
                row[doc_ids[j]] = float(s)
        run[qid] = row
    return run


def _check_ids(query_emb, doc_emb, query_ids, doc_ids) -> None:
    if len(query_ids) != len(query_emb) or len(doc_ids) != len(doc_emb):
        raise ValueError(f"ids and embeddings disagree: {len(query_ids)} query ids for {len(query_emb)} "
                         f"rows, {len(doc_ids)} doc ids for {len(doc_emb)} rows")
    if len(set(doc_ids)) != len(doc_ids):
        raise ValueError("doc_ids contain duplicates")
    if len(set(query_ids)) != len(query_ids):
        raise ValueError("query_ids contain duplicates")


def exact_search(
    query_emb: np.ndarray,
    doc_emb: np.ndarray,
    query_ids: list[str],
    doc_ids: list[str],
    top_k: int = 100,
    chunk_size: int = DEFAULT_DOC_CHUNK,
    exclude: dict[str, set[str]] | None = None,
    query_chunk: int = DEFAULT_QUERY_CHUNK,
    device: str = "cpu",
) -> Run:
    """Exact inner-product top-k as a Run (qid -> {docid: score}); ties by doc id ascending.

    ``exclude`` maps a query id to doc ids never returned for it (e.g. the query's own document).
    """
    _check_ids(query_emb, doc_emb, query_ids, doc_ids)
    order = np.asarray(sorted(range(len(doc_ids)), key=doc_ids.__getitem__), dtype=np.int64)
    sorted_ids = [doc_ids[i] for i in order]
    identity = bool(np.all(order == np.arange(len(order))))
    rows = None
    if exclude:
        pos = {d: i for i, d in enumerate(sorted_ids)}
        qpos = {q: i for i, q in enumerate(query_ids)}
        rows = {qpos[q]: {pos[d] for d in ds if d in pos} for q, ds in exclude.items() if q in qpos}
    scores, idx = topk_indices(query_emb, doc_emb, top_k, query_chunk=query_chunk, doc_chunk=chunk_size,
                               exclude=rows, device=device, doc_order=None if identity else order)
    return run_from_topk(scores, idx, list(query_ids), sorted_ids)
