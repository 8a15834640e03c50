"""``Retriever``: what every retriever handed to search and evaluation is.

Two kinds implement it: a dense model (:class:`polyret.modeling.encoder.BiEncoder`: ``fingerprint``
plus ``encode`` / ``config`` / ``device``) and :class:`Bm25` (the lexical baseline, bm25s with
Lucene's k1 0.9, b 0.4). Code that must treat them differently asks :func:`is_lexical`, never
compares with a string: a name such as ``"bm25"`` is resolved once, at the edge, by
:func:`polyret.evaluation.encoding.load_retriever`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@runtime_checkable
class Retriever(Protocol):
    """A retriever: identified by a fingerprint (recorded with every run it makes)."""

    def fingerprint(self) -> str: ...


@dataclass(frozen=True)
class Bm25:
    """The BM25 baseline (:func:`polyret.retrieval.bm25.bm25_search`; tokenizer per query language)."""

    k1: float = 0.9
    b: float = 0.4
    name: str = "bm25"

    def fingerprint(self) -> str:
        return f"bm25s-k1={self.k1}-b={self.b}"

    def __str__(self) -> str:
        return self.name


BM25 = Bm25()


def is_lexical(retriever: object) -> bool:
    """Whether ``retriever`` is BM25 (no encoder, no precision, no embedding cache)."""
    return isinstance(retriever, Bm25)
