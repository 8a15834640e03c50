"""Optional FAISS indexes (flat, IVF, HNSW; inner product) behind the exact search's interface.

``faiss_search(...)`` takes and returns the same things as :func:`polyret.retrieval.search.exact_search`.
``flat`` is exact; ``ivf`` and ``hnsw`` are approximate (recall depends on ``nprobe`` / ``ef_search``).
Results are re-sorted by (score desc, doc id asc) so ties are deterministic within what FAISS returns.
"""

from __future__ import annotations

import math

import numpy as np

from polyret.retrieval.search import _check_ids, run_from_topk
from polyret.types import Run

KINDS = ("flat", "ivf", "hnsw")


class FaissIndex:
    """An inner-product FAISS index over (N, D) float32 vectors."""

    def __init__(self, dim: int, kind: str = "flat", nlist: int | None = None, nprobe: int = 16,
                 hnsw_m: int = 32, ef_search: int = 128, ef_construction: int = 200, seed: int = 0):
        if kind not in KINDS:
            raise ValueError(f"unknown FAISS index kind {kind!r}; expected one of {KINDS}")
        self.dim, self.kind, self.nlist, self.nprobe = dim, kind, nlist, nprobe
        self.hnsw_m, self.ef_search, self.ef_construction = hnsw_m, ef_search, ef_construction
        self.seed = seed
        self.index = None

    def build(self, doc_emb: np.ndarray) -> FaissIndex:
        """Create, train (IVF) and fill the index."""
        import faiss

        x = np.ascontiguousarray(doc_emb, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected (N, {self.dim}) vectors, got {x.shape}")
        if self.kind == "flat":
            index = faiss.IndexFlatIP(self.dim)
        elif self.kind == "hnsw":
            index = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = self.ef_construction
            index.hnsw.efSearch = self.ef_search
        else:
            nlist = self.nlist or max(1, min(int(4 * math.sqrt(len(x))), len(x) // 39 or 1))
            quantizer = faiss.IndexFlatIP(self.dim)
            index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = self.seed
            index.train(x)
            index.nprobe = min(self.nprobe, nlist)
            self.nlist = nlist
        index.add(x)
        self.index = index
        return self

    def search(self, query_emb: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(Q, k) scores and indices (-1 / -inf where fewer than k were found)."""
        if self.index is None:
            raise RuntimeError("call build() before search()")
        q = np.ascontiguousarray(query_emb, dtype=np.float32)
        scores, idx = self.index.search(q, min(k, self.index.ntotal))
        scores = np.where(idx < 0, -np.inf, scores).astype(np.float32)
        return scores, idx.astype(np.int64)


def faiss_search(query_emb: np.ndarray, doc_emb: np.ndarray, query_ids: list[str], doc_ids: list[str],
                 top_k: int = 100, kind: str = "flat", exclude: dict[str, set[str]] | None = None,
                 **index_options) -> Run:
    """Like ``exact_search`` through a FAISS index of ``kind`` (flat / ivf / hnsw)."""
    _check_ids(query_emb, doc_emb, query_ids, doc_ids)
    index = FaissIndex(doc_emb.shape[1], kind, **index_options).build(doc_emb)
    extra = max((len(v) for v in exclude.values()), default=0) if exclude else 0
    scores, idx = index.search(query_emb, top_k + extra)
    run = run_from_topk(scores, np.where(idx < 0, 0, idx), list(query_ids), list(doc_ids))
    out: Run = {}
    for qid, row in run.items():
        banned = exclude.get(qid, set()) if exclude else set()
        hits = sorted(((d, s) for d, s in row.items() if d not in banned), key=lambda h: (-h[1], h[0]))
        out[qid] = dict(hits[:top_k])
    return out
