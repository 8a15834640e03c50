"""TREC-style text files: ``qid<TAB>query`` topics and ``qid iter docid rel`` qrels."""

from __future__ import annotations

from pathlib import Path

from polyret.data.errors import DataFormatError
from polyret.data.io import QrelsBuilder, iter_rows, parse_int
from polyret.types import Qrels, Queries, Query


def read_topics(path: str | Path) -> Queries:
    """Read ``qid<TAB>query`` lines (``.gz`` allowed). A line without a tab, an empty id or a
    duplicate id is a :class:`DataFormatError` naming the file and line."""
    path = Path(path)
    queries: Queries = {}
    for line, row in iter_rows(path, "\t"):
        if len(row) < 2:
            raise DataFormatError(path, line, "expected 'query-id<TAB>query text'")
        qid, text = row[0].strip(), "\t".join(row[1:]).strip()
        if not qid:
            raise DataFormatError(path, line, "empty query id")
        if qid in queries:
            raise DataFormatError(path, line, f"duplicate query id {qid!r}")
        queries[qid] = Query(qid, text)
    return queries


def read_trec_qrels(path: str | Path) -> Qrels:
    """Read TREC qrels (``qid iter docid relevance``, whitespace-separated; ``.gz`` allowed).

    A row without 4 fields, a non-integer relevance, or the same (query, document) judged twice
    with different relevance is a :class:`DataFormatError` naming the file and line.
    """
    qrels, _ = read_trec_qrels_lines(path)
    return qrels


def read_trec_qrels_lines(path: str | Path) -> tuple[Qrels, dict[str, int]]:
    """:func:`read_trec_qrels` plus, per query, the line of its first row (for later errors).

    An identical repeated row is collapsed and counted in one :class:`DataWarning`.
    """
    path = Path(path)
    builder = QrelsBuilder(path)
    for line, row in iter_rows(path, None):
        if len(row) != 4:
            raise DataFormatError(path, line, f"expected 4 fields 'qid iter docid relevance', got {len(row)}")
        qid, _, doc_id, rel = row
        builder.add(qid, doc_id, parse_int(rel, path, line, "relevance"), line)
    return builder.result()
