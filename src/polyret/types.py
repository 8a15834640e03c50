"""Typed records shared by every layer of polyret.

Retrieval collections use the plain mappings that pytrec_eval / ir_measures understand
(``Qrels``, ``Run``), with NamedTuple records for their rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

# ---------------------------------------------------------------- retrieval collections


class Document(NamedTuple):
    """One corpus entry (BEIR ``corpus.jsonl`` row, MIRACL passage, BRIGHT document)."""

    doc_id: str
    text: str
    title: str = ""


class Query(NamedTuple):
    """One query (BEIR ``queries.jsonl`` row, TREC topic)."""

    query_id: str
    text: str


class Qrel(NamedTuple):
    """One relevance judgement."""

    query_id: str
    doc_id: str
    relevance: int


class ScoredDoc(NamedTuple):
    """One ranked result."""

    query_id: str
    doc_id: str
    score: float


Corpus = dict[str, Document]
"""doc_id -> Document."""
Queries = dict[str, Query]
"""query_id -> Query."""
Qrels = dict[str, dict[str, int]]
"""query_id -> {doc_id: relevance} (the shape pytrec_eval and ir_measures take)."""
Run = dict[str, dict[str, float]]
"""query_id -> {doc_id: score}."""


# ---------------------------------------------------------------- parallel QA training data


class QAPair(NamedTuple):
    """One question-passage training pair from a SQuAD-format file.

    ``item_id`` is the question id, shared by all translations of the same question;
    ``passage_id`` identifies the paragraph within its language (``<lang>:<title>:<index>``).
    """

    item_id: str
    lang: str
    question: str
    passage: str
    passage_id: str
    title: str = ""
    answer: str = ""


@dataclass(frozen=True)
class ParallelItem:
    """One item (question id) with its pair in every language it exists in."""

    item_id: str
    pairs: dict[str, QAPair] = field(hash=False)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self.pairs))


# ---------------------------------------------------------------- LAReQA (XQuAD-R, MLQA-R)


class Candidate(NamedTuple):
    """One candidate answer sentence of a LAReQA pool."""

    cand_id: str  # "<lang>:<paragraph index>:<sentence index>", unique in the pool
    lang: str
    sentence: str
    context: str  # the paragraph the sentence comes from
    paragraph_id: str


class LareqaQuestion(NamedTuple):
    """One LAReQA question; ``question_id`` links its translations across languages."""

    question_id: str
    lang: str
    text: str
    gold_cand_id: str  # the candidate whose span holds answers[0].answer_start
