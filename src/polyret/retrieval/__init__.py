"""Retrieval: exact / FAISS dense search, BM25, TREC runs, the embedding cache, file embedding."""

from __future__ import annotations

from polyret.retrieval.bm25 import bm25_search
from polyret.retrieval.cache import EmbeddingCache
from polyret.retrieval.search import exact_search, topk_indices
from polyret.retrieval.trec import read_run, write_run

__all__ = ["EmbeddingCache", "bm25_search", "exact_search", "read_run", "topk_indices", "write_run"]
