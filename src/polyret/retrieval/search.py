"""Exact top-k inner-product search with deterministic ties: score descending, then doc index
ascending (``topk_indices``) or doc id ascending (``exact_search``).

The engines give the same lists (up to the last bit of fp32 rounding, see below):

- CPU: the inner products and the first cut are handed to FAISS's brute-force kernel
  (``faiss.knn``, the kernel behind ``IndexFlatIP.search``, without copying the corpus into an
  index; larger matrix-product blocks than FAISS's default on large corpora, see
  :func:`_faiss_blocks`) for ``k + 1`` candidates (plus the most excluded docs of any query);
  the candidates are re-sorted by (score desc, tie rank asc). A row whose last candidate ties the
  k-th score may have more equal scores outside the list: only such rows are recomputed by the
  exact torch path.
- CPU with fast bf16 matrix units, large corpora (``auto``): the certified bf16 prefilter
  (:mod:`polyret.retrieval.prefilter`) keeps every document that can reach a query's top-k under a
  proven bf16 error bound and scores those exactly in float64; rows it cannot certify take the
  FAISS path. Rankings are then those of the exact (float64) products, so two documents whose fp32
  scores differ only by rounding may come in the other order than FAISS's fp32 kernel puts them.
- torch (GPU, and the fallback): the corpus is scanned in chunks of ``doc_chunk``, each chunk's
  top-k is merged into a running top-k; memory is bounded by ``query_chunk x doc_chunk`` scores.

Neither copies the corpus (doc-id order is applied to the results, not to the matrix).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch

from polyret.retrieval.prefilter import certified_candidates, put_rows, use_bf16_scan
from polyret.types import Run

DEFAULT_QUERY_CHUNK = 1024
DEFAULT_DOC_CHUNK = 32768
FAISS_BLOCKS = (2048, 16384)  # (queries, docs) per matrix product inside faiss.knn, large corpora
FAISS_BLOCKS_MIN_DOCS = 500_000  # below this FAISS's own blocks (4,096 x 1,024) are faster


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


def _faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def _faiss_blocks(faiss, n_docs: int):
    """FAISS's brute-force block sizes, raised for this call on corpora of at least
    :data:`FAISS_BLOCKS_MIN_DOCS`: (2,048 queries x 16,384 docs) scores per matrix product (128 MiB)
    instead of 4,096 x 1,024. Measured on a 2-core EPYC, 1,000 queries: 8 % faster at 1M docs,
    5-30 % slower at 10k-100k (so left alone there); the scores are the same products."""
    if n_docs < FAISS_BLOCKS_MIN_DOCS:
        yield
        return
    cvar = faiss.cvar
    saved = (cvar.distance_compute_blas_query_bs, cvar.distance_compute_blas_database_bs)
    cvar.distance_compute_blas_query_bs, cvar.distance_compute_blas_database_bs = FAISS_BLOCKS
    try:
        yield
    finally:
        cvar.distance_compute_blas_query_bs, cvar.distance_compute_blas_database_bs = saved


def _resort_by_key(s: np.ndarray, i: np.ndarray, doc_keys) -> None:
    """In place: rows holding equal finite scores re-sorted by (score desc, ``doc_keys[i]`` asc)."""
    tied = np.flatnonzero(((s[:, 1:] == s[:, :-1]) & np.isfinite(s[:, 1:])).any(axis=1))
    for row in tied.tolist():
        order = sorted(range(s.shape[1]), key=lambda c: (-s[row, c], doc_keys[i[row, c]]))
        s[row], i[row] = s[row, order], i[row, order]


def _faiss_topk(query_emb: np.ndarray, doc_emb: np.ndarray, k: int, tie_rank: np.ndarray | None,
                exclude: dict[int, set[int]] | None, query_chunk: int, doc_keys=None, bf16: bool = False,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates re-sorted by (score desc, tie rank asc) -- the rank is ``tie_rank[row]``, the row
    itself, or ``doc_keys[row]`` (compared only where scores tie): (Q, k) scores, (Q, k) original
    doc rows, and the query rows whose cut is ambiguous (ties may go past the candidates).

    Candidates come from FAISS's fp32 kernel (``k + 1`` plus the most excluded docs of any query),
    or with ``bf16`` from the certified bf16 prefilter (:mod:`polyret.retrieval.prefilter`: every
    document that can reach the top-k, scored exactly in float64; FAISS for the rows it cannot
    certify)."""
    xb = np.ascontiguousarray(doc_emb, dtype=np.float32)  # no copy for float32 C-ordered input
    n_q, n_d = query_emb.shape[0], xb.shape[0]
    n_ex = max((len(v) for v in exclude.values()), default=0) if exclude else 0
    kk = min(n_d, k + n_ex + 1)
    out_s = np.empty((n_q, k), dtype=np.float32)
    out_i = np.empty((n_q, k), dtype=np.int64)
    ambiguous: list[np.ndarray] = []
    for q0 in range(0, n_q, query_chunk):
        xq = np.ascontiguousarray(query_emb[q0 : q0 + query_chunk], dtype=np.float32)  # (Qc, D)
        if bf16:
            need = k + np.array([len(exclude.get(q0 + r, ())) if exclude else 0 for r in range(len(xq))])
            s, i, last = _bf16_rows(xq, xb, need, kk)
        else:
            s, i = _faiss_knn(xq, xb, kk)  # (Qc, kk), score desc
            last = s[:, -1].copy()  # (Qc,) the lowest candidate score FAISS kept
        if exclude:
            for row in range(len(xq)):
                banned = exclude.get(q0 + row)
                if banned:
                    s[row, np.isin(i[row], list(banned))] = -np.inf
        rank = i if tie_rank is None else tie_rank[i]  # (Qc, C)
        order = np.lexsort((rank, -s), axis=-1)  # (Qc, C) score desc, then tie rank asc
        s, i = np.take_along_axis(s, order, 1), np.take_along_axis(i, order, 1)
        if doc_keys is not None:
            _resort_by_key(s, i, doc_keys)
        s, i = s[:, :k], i[:, :k]
        if kk < n_d:
            ambiguous.append(q0 + np.flatnonzero(last == s[:, -1]))
        out_s[q0 : q0 + len(xq)], out_i[q0 : q0 + len(xq)] = s, i
    rows = np.concatenate(ambiguous) if ambiguous else np.zeros(0, dtype=np.int64)
    return out_s, out_i, rows


def _faiss_knn(xq: np.ndarray, xb: np.ndarray, kk: int) -> tuple[np.ndarray, np.ndarray]:
    """FAISS's brute-force inner-product top-``kk``: (Qc, kk) scores desc, (Qc, kk) doc rows."""
    import faiss

    with _faiss_blocks(faiss, xb.shape[0]):
        return faiss.knn(xq, xb, kk, metric=faiss.METRIC_INNER_PRODUCT)


def _bf16_rows(xq: np.ndarray, xb: np.ndarray, need: np.ndarray, kk: int,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Certified bf16 candidates, FAISS's for the rows the bound cannot certify: (Qc, C) float64
    scores (-inf padding), (Qc, C) doc rows, and (Qc,) the lowest FAISS candidate score per row
    (NaN for certified rows: their candidates hold every document that can reach the top-k)."""
    s, i, undecided = certified_candidates(xq, xb, need)
    last = np.full(len(xq), np.nan)
    if len(undecided):
        fs, fi = _faiss_knn(np.ascontiguousarray(xq[undecided]), xb, kk)
        s, i = put_rows(s, i, undecided, fs.astype(np.float64), fi)
        last[undecided] = fs[:, -1]
    return s, i, last


ENGINES = ("auto", "faiss", "bf16", "torch")


def _use_faiss(engine: str, device, doc_emb) -> bool:
    """FAISS (or bf16) candidates: asked for, or ``auto`` on CPU with numpy input and FAISS installed."""
    return engine in ("faiss", "bf16") or (engine == "auto" and torch.device(device).type == "cpu"
                                           and not isinstance(doc_emb, torch.Tensor) and _faiss_available())


def topk_indices(
    query_emb: np.ndarray | torch.Tensor,
    doc_emb: np.ndarray | torch.Tensor,
    k: int,
    query_chunk: int = DEFAULT_QUERY_CHUNK,
    doc_chunk: int = DEFAULT_DOC_CHUNK,
    exclude: dict[int, set[int]] | None = None,
    device: str | torch.device = "cpu",
    doc_order: np.ndarray | None = None,
    engine: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k inner products of every query against every document.

    Args:
        query_emb: (Q, D) float.
        doc_emb: (N, D) float.
        k: results per query (capped at N).
        query_chunk, doc_chunk: chunk sizes bounding memory to query_chunk x doc_chunk scores.
        exclude: query row -> doc rows that must not be returned (their score becomes -inf).
        device: where the products run (``cpu`` or ``cuda``).
        doc_order: optional permutation; the search then runs over ``doc_emb[doc_order]`` (never
            materialised) and indices refer to that order.
        engine: ``faiss`` (CPU: FAISS's fp32 kernel), ``bf16`` (CPU: the certified bf16 prefilter,
            exact float64 re-scoring), ``torch``, or ``auto`` (on CPU with FAISS installed: ``bf16``
            for corpora of at least :data:`~polyret.retrieval.prefilter.BF16_MIN_DOCS` and
            :data:`~polyret.retrieval.prefilter.BF16_DOCS_PER_K` x k vectors
            where bf16 is measured fast, else ``faiss``; torch otherwise).

    Returns:
        scores (Q, k) float32 and indices (Q, k) int64, sorted by score desc, index asc. Excluded
        pairs that had to fill the list (k > allowed docs) come back with score -inf.
    """
    if query_emb.ndim != 2 or doc_emb.ndim != 2 or query_emb.shape[1] != doc_emb.shape[1]:
        raise ValueError(f"need (Q, D) and (N, D) arrays, got {tuple(query_emb.shape)} "
                         f"and {tuple(doc_emb.shape)}")
    if k < 1 or query_chunk < 1 or doc_chunk < 1:
        raise ValueError("k, query_chunk and doc_chunk must be >= 1")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    n_q, n_d = query_emb.shape[0], doc_emb.shape[0]
    k = min(k, n_d)
    if n_q == 0 or k == 0:
        return np.full((n_q, k), -np.inf, dtype=np.float32), np.zeros((n_q, k), dtype=np.int64)
    if not _use_faiss(engine, device, doc_emb):
        return _torch_topk(query_emb, doc_emb, k, query_chunk, doc_chunk, exclude, device, doc_order)
    order = None if doc_order is None else np.asarray(doc_order, dtype=np.int64)
    inv = None
    if order is not None:
        inv = np.empty_like(order)
        inv[order] = np.arange(len(order))  # original row -> position in doc order (the tie rank)
        if exclude:
            exclude = {r: {int(order[p]) for p in ps} for r, ps in exclude.items()}
    scores, rows, unsure = _faiss_topk(np.asarray(query_emb), np.asarray(doc_emb), k, inv, exclude,
                                       max(query_chunk, 4096), bf16=use_bf16_scan(engine, n_d, exclude, k))
    idx = rows if inv is None else inv[rows]
    if len(unsure):  # ties may continue past FAISS's candidates: settle these rows exactly
        sub_ex = None
        if exclude:
            sub_ex = {j: ({int(inv[d]) for d in exclude[r]} if inv is not None else exclude[r])
                      for j, r in enumerate(unsure.tolist()) if r in exclude}
        s2, i2 = _torch_topk(np.asarray(query_emb)[unsure], doc_emb, k, query_chunk, doc_chunk, sub_ex,
                             "cpu", doc_order)
        scores[unsure], idx[unsure] = s2, i2
    return scores, idx


def _torch_topk(query_emb, doc_emb, k: int, query_chunk: int, doc_chunk: int,
                exclude: dict[int, set[int]] | None, device, doc_order: np.ndarray | None,
                ) -> tuple[np.ndarray, np.ndarray]:
    """The chunked torch engine of :func:`topk_indices` (``k`` already capped at N)."""
    n_q, n_d = query_emb.shape[0], doc_emb.shape[0]
    out_s = np.full((n_q, k), -np.inf, dtype=np.float32)
    out_i = np.zeros((n_q, k), dtype=np.int64)

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
    for qid, row_s, row_i in zip(query_ids, scores.tolist(), indices.tolist(), strict=True):
        run[qid] = {doc_ids[j]: s for s, j in zip(row_s, row_i, strict=True) if math.isfinite(s)}
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
    engine: str = "auto",
) -> Run:
    """Exact inner-product top-k as a Run (qid -> {docid: score}); ties by doc id ascending.

    ``exclude`` maps a query id to doc ids never returned for it (e.g. the query's own document).
    ``engine``: as in :func:`topk_indices`.
    """
    _check_ids(query_emb, doc_emb, query_ids, doc_ids)
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if _use_faiss(engine, device, doc_emb) and len(query_ids) and len(doc_ids):
        return _exact_search_faiss(np.asarray(query_emb), np.asarray(doc_emb), list(query_ids), list(doc_ids),
                                   top_k, chunk_size, exclude, query_chunk, engine)
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


def _exact_search_faiss(query_emb: np.ndarray, doc_emb: np.ndarray, query_ids: list[str], doc_ids: list[str],
                        top_k: int, doc_chunk: int, exclude: dict[str, set[str]] | None,
                        query_chunk: int, engine: str = "auto") -> Run:
    """:func:`exact_search` on CPU: doc ids compared only where scores tie (no full sort of the ids)."""
    k = min(top_k, len(doc_ids))
    rows = None
    if exclude:
        pos = {d: i for i, d in enumerate(doc_ids)}
        qpos = {q: i for i, q in enumerate(query_ids)}
        rows = {qpos[q]: {pos[d] for d in ds if d in pos} for q, ds in exclude.items() if q in qpos}
    scores, idx, unsure = _faiss_topk(query_emb, doc_emb, k, None, rows, max(query_chunk, 4096), doc_ids,
                                      bf16=use_bf16_scan(engine, len(doc_ids), rows, k))
    if len(unsure):  # ties may continue past the candidates: settle these rows exactly, in doc-id order
        order = np.asarray(sorted(range(len(doc_ids)), key=doc_ids.__getitem__), dtype=np.int64)
        inv = np.empty_like(order)
        inv[order] = np.arange(len(order))
        sub = {j: {int(inv[d]) for d in rows[r]} for j, r in enumerate(unsure.tolist()) if rows and r in rows}
        s2, i2 = _torch_topk(query_emb[unsure], doc_emb, k, query_chunk, doc_chunk, sub or None, "cpu", order)
        scores[unsure], idx[unsure] = s2, order[i2]
    return run_from_topk(scores, idx, query_ids, doc_ids)
