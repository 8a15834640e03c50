"""Corpus + queries -> Run with a dense model (exact or FAISS search) or BM25; used by ``polyret search``."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from polyret.types import Corpus, Queries, Run

log = logging.getLogger(__name__)
BACKENDS = ("exact", "flat", "ivf", "hnsw")


def document_text(doc) -> str:
    """``title + " " + text`` (BEIR's convention), or the text alone without a title."""
    return f"{doc.title} {doc.text}".strip() if doc.title else doc.text


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


def retrieve(corpus: Corpus, queries: Queries, model: str | None = None, top_k: int = 100,
             backend: str = "exact", bm25: bool = False, language: str = "en", batch_size: int = 64,
             max_tokens: int | None = None, cache: bool = True, faiss_options: dict | None = None,
             device: str | None = None) -> tuple[Run, dict]:
    """Run ``queries`` against ``corpus``; returns the Run and a description of what was done."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown search backend {backend!r}; expected one of {BACKENDS}")
    t0 = time.perf_counter()
    if bm25:
        from polyret.retrieval.bm25 import bm25_search, tokenizer_info

        run = bm25_search(corpus, queries, top_k=top_k, language=language)
        return run, {"retriever": "bm25", "tokenizer": tokenizer_info(language), "top_k": top_k,
                     "seconds": round(time.perf_counter() - t0, 3)}
    if model is None:
        raise ValueError("a dense search needs a model (or use BM25)")
    from polyret.modeling.registry import load_model

    enc = load_model(model, device=device)
    doc_ids, qids = list(corpus), list(queries)
    d_emb = enc.encode([document_text(corpus[d]) for d in doc_ids], side="passage", batch_size=batch_size,
                       max_tokens=max_tokens, cache=cache)
    q_emb = enc.encode([queries[q].text for q in qids], side="query", batch_size=batch_size,
                       max_tokens=max_tokens, cache=cache)
    t1 = time.perf_counter()
    if backend == "exact":
        from polyret.retrieval.search import exact_search

        run = exact_search(q_emb, d_emb, qids, doc_ids, top_k=top_k, device=str(enc.device))
    else:
        from polyret.retrieval.faiss_index import faiss_search

        run = faiss_search(q_emb, d_emb, qids, doc_ids, top_k=top_k, kind=backend, **(faiss_options or {}))
    return run, {"retriever": "dense", "model": model, "fingerprint": enc.fingerprint(), "backend": backend,
                 "faiss_options": faiss_options or {}, "encoder_config": enc.config.to_dict(), "top_k": top_k,
                 "encode_seconds": round(t1 - t0, 3), "search_seconds": round(time.perf_counter() - t1, 3)}
