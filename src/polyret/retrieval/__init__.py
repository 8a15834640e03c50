"""Retrieval: one path from corpus + queries to a Run (``pipeline.retrieve``), exact / FAISS dense
search, BM25, the embedding cache (as a wrapper around the model), TREC runs, file embedding."""

from __future__ import annotations

from polyret.retrieval.bm25 import bm25_search
from polyret.retrieval.cache import EmbeddingCache
from polyret.retrieval.cached import CachedEncoder, encode_cached
from polyret.retrieval.pipeline import Retrieval, retrieve
from polyret.retrieval.search import exact_search, topk_indices
from polyret.retrieval.text import document_text
from polyret.retrieval.trec import read_run, write_run

__all__ = ["CachedEncoder", "EmbeddingCache", "Retrieval", "bm25_search", "document_text", "encode_cached",
           "exact_search", "read_run", "retrieve", "topk_indices", "write_run"]
