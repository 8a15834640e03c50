"""BEIR-format collections: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``.

Rules for odd input (all checked by tests):

- a malformed JSONL line, a row without ``_id``, a duplicate id, a qrels row with the wrong
  number of columns or a non-integer score: :class:`DataFormatError` naming the file and line;
- the same (query, document) judged twice with different scores: :class:`DataFormatError`
  naming both lines (as the TREC reader); an identical repeated row is collapsed and counted in one
  :class:`DataWarning`;
- a qrels row naming a query that is not in ``queries.jsonl``: :class:`DataFormatError`;
- a qrels row naming a document missing from the corpus: skipped with a :class:`DataWarning`
  that gives the count (what BEIR's own loader does, as it evaluates only what it can rank);
- no judgement at all (an empty or header-only qrels file): :class:`DataFormatError` (an evaluation
  of zero queries would pass silently; every judged document missing is refused by the evaluator).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

from polyret.data.errors import DataFormatError, DataWarning
from polyret.data.io import (
    QrelsBuilder,
    iter_jsonl,
    iter_rows,
    optional_str,
    parse_int,
    require_id,
    require_str,
)
from polyret.types import Corpus, Document, Qrels, Queries, Query

QRELS_HEADER = ("query-id", "corpus-id", "score")


@dataclass
class BeirData:
    """One split of a BEIR collection.

    ``queries`` holds every query of ``queries.jsonl``; ``qrels`` only the split's judgements
    (use :meth:`judged_queries` for the queries to evaluate).
    """

    name: str
    split: str
    corpus: Corpus
    queries: Queries
    qrels: Qrels
    skipped_qrels: int = 0  # rows dropped because their document is not in the corpus
    path: Path | None = field(default=None, compare=False)
    files: list[Path] = field(default_factory=list, compare=False)  # corpus, queries, qrels read

    def judged_queries(self) -> Queries:
        """The queries with at least one judgement in this split (BEIR's evaluation set)."""
        return {qid: self.queries[qid] for qid in self.qrels}


def read_corpus(path: str | Path) -> Corpus:
    """Read ``corpus.jsonl`` (``_id``, ``title``, ``text``; ``.gz`` allowed)."""
    path = Path(path)
    corpus: Corpus = {}
    for line, obj in iter_jsonl(path):
        doc_id = require_id(obj, "_id", path, line)
        if doc_id in corpus:
            raise DataFormatError(path, line, f"duplicate document id {doc_id!r}")
        text = require_str(obj, "text", path, line)
        corpus[doc_id] = Document(doc_id, text, optional_str(obj, "title", path, line))
    return corpus


def read_queries(path: str | Path) -> Queries:
    """Read ``queries.jsonl`` (``_id``, ``text``; other fields ignored)."""
    path = Path(path)
    queries: Queries = {}
    for line, obj in iter_jsonl(path):
        qid = require_id(obj, "_id", path, line)
        if qid in queries:
            raise DataFormatError(path, line, f"duplicate query id {qid!r}")
        queries[qid] = Query(qid, require_str(obj, "text", path, line))
    return queries


def read_qrels_tsv(path: str | Path) -> tuple[Qrels, dict[str, int]]:
    """Read a BEIR qrels TSV (header ``query-id corpus-id score``; a headerless file is accepted).

    Returns the qrels and, per query id, the line of its first row (for error messages).
    """
    path = Path(path)
    builder = QrelsBuilder(path)
    first = True
    for line, row in iter_rows(path):
        cells = [c.strip() for c in row]
        if first:
            first = False
            if tuple(cells) == QRELS_HEADER:
                continue
            if len(cells) == 3 and not _is_number(cells[2]):
                raise DataFormatError(path, line, f"expected header {' '.join(QRELS_HEADER)!r}, got {row!r}")
        if len(cells) != 3:
            raise DataFormatError(path, line, f"expected 3 tab-separated columns, got {len(cells)}: {row!r}")
        qid, doc_id, score = cells
        if not qid or not doc_id:
            raise DataFormatError(path, line, "empty query or document id")
        builder.add(qid, doc_id, parse_int(score, path, line, "score"), line)
    return builder.result()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def validate_qrels(
    qrels: Qrels,
    path: Path,
    queries: Queries | None,
    corpus: Corpus | None,
    first_line: dict[str, int] | None = None,
) -> tuple[Qrels, int]:
    """Check qrels ids: unknown query -> error; unknown document -> dropped, counted, warned;
    no judgement at all (empty or header-only qrels) -> error.

    ``first_line`` maps a query id to the line of its first row, for the error message.
    Returns the kept qrels and the number of rows dropped.
    """
    if queries is not None:
        for qid in qrels:
            if qid not in queries:
                line = (first_line or {}).get(qid)
                raise DataFormatError(path, line, f"qrels name query {qid!r}, which is not in the queries")
    if not qrels:
        raise DataFormatError(path, None, "no judgements (empty or header-only qrels): nothing to evaluate")
    if corpus is None:
        return qrels, 0
    kept: Qrels = {}
    skipped = 0
    for qid, docs in qrels.items():
        inside = {d: r for d, r in docs.items() if d in corpus}
        skipped += len(docs) - len(inside)
        if inside:
            kept[qid] = inside
    if skipped:
        warnings.warn(
            f"{path}: skipped {skipped} qrels rows for documents missing from the corpus "
            f"({len(qrels) - len(kept)} queries left without judgements)",
            DataWarning,
            stacklevel=3,
        )
    return kept, skipped


def beir_splits(folder: str | Path) -> list[str]:
    """The splits a BEIR folder has (``qrels/*.tsv``), sorted."""
    return sorted(p.stem for p in (Path(folder) / "qrels").glob("*.tsv"))


def load_beir(folder: str | Path, split: str = "test") -> BeirData:
    """Load one split of a BEIR-format folder (nfcorpus, scifact, arguana or your own)."""
    folder = Path(folder)
    names = {"corpus": folder / "corpus.jsonl", "queries": folder / "queries.jsonl"}
    for key, p in names.items():
        if not p.is_file() and p.with_suffix(".jsonl.gz").is_file():
            names[key] = p.with_suffix(".jsonl.gz")
    qrels_path = folder / "qrels" / f"{split}.tsv"
    for p in (*names.values(), qrels_path):
        if not p.is_file():
            have = ", ".join(beir_splits(folder)) or "none"
            raise FileNotFoundError(f"{p} not found (BEIR folder {folder}; splits present: {have})")
    corpus = read_corpus(names["corpus"])
    queries = read_queries(names["queries"])
    qrels, first_line = read_qrels_tsv(qrels_path)
    qrels, skipped = validate_qrels(qrels, qrels_path, queries, corpus, first_line)
    files = [names["corpus"], names["queries"], qrels_path]
    return BeirData(folder.name, split, corpus, queries, qrels, skipped, folder, files)
