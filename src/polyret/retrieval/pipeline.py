"""The one retrieval path: corpus + queries -> encode -> search -> Run (used by ``polyret search``,
hard-negative mining and the evaluator).

    retrieve(retriever, corpus, queries, top_k=100, *, drop_self_hits=False, batch_size=64,
             max_tokens=None, precision=None, cache=True, backend="exact", faiss_options=None,
             language="en", show_progress=None) -> Retrieval(run, info)

``retriever`` is a :class:`~polyret.retrieval.retriever.Retriever`: a dense model (a ``BiEncoder``:
anything with ``encode`` / ``fingerprint`` / ``config``) or :data:`BM25` (a
:class:`~polyret.retrieval.retriever.Bm25`). Dense search is exact (FAISS's kernel on CPU, deterministic
ties: score desc, then doc id asc) unless ``backend`` names a FAISS index (``flat`` / ``ivf`` /
``hnsw``). Documents are embedded and indexed as :func:`~polyret.retrieval.text.document_text`
(title + " " + text). ``drop_self_hits`` removes a document whose id equals the query id
(ArguAna-style duplicates; BEIR's rule) and still returns ``top_k`` results. ``precision`` (``auto``
/ ``fp32`` / ``bf16``; ``None``: the model's weights as they are) and ``cache`` go to
:func:`~polyret.retrieval.cached.encode_cached`; non-finite embeddings raise ``NonFiniteError``.
``info`` says what was done (retriever, fingerprint, precision record, self-hits removed, timings).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, NamedTuple

from polyret.retrieval.retriever import BM25, is_lexical
from polyret.retrieval.text import document_text
from polyret.types import Corpus, Queries, Run

log = logging.getLogger(__name__)
BACKENDS = ("exact", "flat", "ivf", "hnsw")

__all__ = ["BACKENDS", "BM25", "Retrieval", "document_text", "load_corpus", "load_queries",
           "remove_self_hits", "retrieve"]


class Retrieval(NamedTuple):
    run: Run
    info: dict[str, Any]


def load_corpus(path: str | Path) -> Corpus:
    """A BEIR folder (its ``corpus.jsonl``) or a ``corpus.jsonl`` file."""
    from polyret.data.beir import read_corpus

    path = Path(path)
    if path.is_dir():
        candidates = [path / "corpus.jsonl", path / "corpus.jsonl.gz"]
        path = next((c for c in candidates if c.is_file()), candidates[0])
    if not path.is_file():
        raise FileNotFoundError(f"corpus not found: {path} (expected a BEIR folder or corpus.jsonl)")
    return read_corpus(path)


def load_queries(path: str | Path) -> Queries:
    """``queries.jsonl`` (``_id``, ``text``) or a ``qid<TAB>query`` topics file (.tsv / .txt)."""
    from polyret.data.beir import read_queries
    from polyret.data.trec import read_topics

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"queries file not found: {path}")
    return read_queries(path) if ".jsonl" in path.suffixes else read_topics(path)


def remove_self_hits(run: Run, top_k: int) -> tuple[Run, int]:
    """``run`` without each query's own id as a document, cut to ``top_k``; and how many were removed."""
    out: Run = {}
    removed = 0
    for qid, row in run.items():
        if qid in row:
            removed += 1
            row = {d: s for d, s in row.items() if d != qid}
        ranked = sorted(row.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]
        out[qid] = dict(ranked)
    return out, removed


def _dense(model, corpus: Corpus, queries: Queries, depth: int, backend: str, options: dict,
           info: dict) -> Run:
    """Encode both sides (through the cache) and search; fills ``info``."""
    from polyret.retrieval.cached import encode_cached, precision_used

    t0 = time.perf_counter()
    doc_ids, qids = list(corpus), list(queries)
    enc = {k: options[k] for k in ("batch_size", "max_tokens", "precision", "cache", "show_progress")}
    d_emb = encode_cached(model, [document_text(corpus[d]) for d in doc_ids], "passage", **enc)  # (N, D)
    q_emb = encode_cached(model, [queries[q].text for q in qids], "query", **enc)  # (Q, D)
    t1 = time.perf_counter()
    if backend == "exact":
        from polyret.retrieval.search import exact_search

        run = exact_search(q_emb, d_emb, qids, doc_ids, top_k=depth, device=str(model.device))
    else:
        from polyret.retrieval.faiss_index import faiss_search

        run = faiss_search(q_emb, d_emb, qids, doc_ids, top_k=depth, kind=backend,
                           **(options["faiss_options"] or {}))
    info.update({"retriever": "dense", "fingerprint": model.fingerprint(), "backend": backend,
                 "faiss_options": options["faiss_options"] or {}, "encoder_config": model.config.to_dict(),
                 "precision": _precision_info(model, options["precision"], precision_used),
                 "encode_seconds": round(t1 - t0, 3), "search_seconds": round(time.perf_counter() - t1, 3)})
    return run


def _precision_info(model, requested: str | None, used_fn) -> dict[str, Any]:
    if requested is None:
        return {"requested": None, "used": used_fn(model, None), "device": str(model.device)}
    from polyret.hardware import precision_record

    return precision_record(requested, model.device)


def retrieve(retriever, corpus: Corpus, queries: Queries, top_k: int = 100, *, drop_self_hits: bool = False,
             batch_size: int = 64, max_tokens: int | None = None, precision: str | None = None,
             cache=True, backend: str = "exact", faiss_options: dict | None = None, language: str = "en",
             show_progress: bool | None = None) -> Retrieval:
    """Top-``top_k`` documents of ``corpus`` for every query (see the module docstring)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown search backend {backend!r}; expected one of {BACKENDS}")
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, not {top_k}")
    if not corpus:
        raise ValueError("the corpus is empty: nothing to search")
    self_hits = drop_self_hits and any(q in corpus for q in queries)
    depth = top_k + 1 if self_hits else top_k
    info: dict[str, Any] = {"top_k": top_k, "drop_self_hits": drop_self_hits}
    t0 = time.perf_counter()
    if is_lexical(retriever):
        from polyret.retrieval.bm25 import bm25_search, tokenizer_info

        run = bm25_search(corpus, queries, top_k=depth, language=language, k1=retriever.k1, b=retriever.b)
        info.update({"retriever": "bm25", "tokenizer": tokenizer_info(language),
                     "search_seconds": round(time.perf_counter() - t0, 3)})
    elif isinstance(retriever, str):
        raise ValueError(f"retriever must be a model or BM25 (polyret.retrieval.retriever.BM25), "
                         f"not the string {retriever!r}")
    else:
        options = {"batch_size": batch_size, "max_tokens": max_tokens, "precision": precision, "cache": cache,
                   "show_progress": show_progress, "faiss_options": faiss_options}
        run = _dense(retriever, corpus, queries, depth, backend, options, info)
    removed = 0
    if self_hits:
        run, removed = remove_self_hits(run, top_k)
    info["self_hits_removed"] = removed if drop_self_hits else None
    return Retrieval(run, info)
