"""BRIGHT: topics (``.tsv.gz``), original records (``-original.jsonl.gz``: query, reasoning,
gold_ids, excluded_ids, gold_answer), qrels (plain and ``.fixed``) and a user-supplied document folder.

- ``queries`` take their text from the original records when present (BRIGHT's exact query,
  newlines kept); the ``.tsv.gz`` topics must list the same ids (else an error).
- ``excluded_ids`` of ``["N/A"]`` means none. ``qrels="plain"`` (default) equals the records'
  ``gold_ids``; ``qrels="fixed"`` is the corrected set (``qrels.bright-<subset>.fixed.txt``).
- Documents (``docs_dir``): ``.jsonl(.gz)`` files with ``id``/``_id``/``docid`` and
  ``content``/``contents``/``text`` fields, or else every other file of the folder as one document
  whose id is its path relative to ``docs_dir`` (BRIGHT ids look like ``Pony/2_ops_10.txt``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from polyret.data.beir import validate_qrels
from polyret.data.errors import DataFormatError
from polyret.data.io import iter_jsonl, iter_rows, optional_str, read_text, require_id, require_str
from polyret.data.trec import read_topics, read_trec_qrels_lines
from polyret.types import Corpus, Document, Qrels, Queries, Query


@dataclass(frozen=True)
class BrightRecord:
    """One BRIGHT query with its reasoning annotation and gold / excluded document ids."""

    query_id: str
    query: str
    reasoning: str
    gold_ids: tuple[str, ...]
    excluded_ids: tuple[str, ...]
    gold_ids_long: tuple[str, ...] = ()
    gold_answer: str = ""


@dataclass
class BrightData:
    """One BRIGHT subset; ``corpus`` is None unless ``docs_dir`` was given."""

    subset: str
    queries: Queries
    records: dict[str, BrightRecord]
    qrels: Qrels
    excluded: dict[str, set[str]] = field(default_factory=dict)  # qid -> doc ids to drop from runs
    corpus: Corpus | None = None
    skipped_qrels: int = 0
    files: list[Path] = field(default_factory=list)  # topic, record, qrels and exclude files read


def _id_list(obj: dict, key: str, path: Path, line: int) -> tuple[str, ...]:
    """A list of string ids (``["N/A"]`` or missing: none); other types are errors."""
    values = obj.get(key) or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise DataFormatError(path, line, f"field {key!r} must be a list of string ids")
    return tuple(v for v in values if v != "N/A")


def read_bright_records(path: str | Path) -> dict[str, BrightRecord]:
    """Read ``topics.bright-<subset>-original.jsonl.gz``."""
    path = Path(path)
    records: dict[str, BrightRecord] = {}
    for line, obj in iter_jsonl(path):
        qid = require_id(obj, "id", path, line)
        if qid in records:
            raise DataFormatError(path, line, f"duplicate query id {qid!r}")
        reasoning = optional_str(obj, "reasoning", path, line)
        answer = optional_str(obj, "gold_answer", path, line)
        records[qid] = BrightRecord(
            qid,
            require_str(obj, "query", path, line),
            "" if reasoning == "N/A" else reasoning,
            _id_list(obj, "gold_ids", path, line),
            _id_list(obj, "excluded_ids", path, line),
            _id_list(obj, "gold_ids_long", path, line),
            "" if answer == "N/A" else answer,
        )
    return records


def read_exclude_file(path: str | Path) -> dict[str, set[str]]:
    """Read a Pyserini exclude file (``qid docid`` per line)."""
    path = Path(path)
    out: dict[str, set[str]] = {}
    for line, row in iter_rows(path, None):
        if len(row) != 2:
            raise DataFormatError(path, line, f"expected 'query-id doc-id', got {len(row)} fields")
        out.setdefault(row[0], set()).add(row[1])
    return out


_ID_KEYS = ("id", "_id", "docid")
_TEXT_KEYS = ("content", "contents", "text")


def load_bright_docs(docs_dir: str | Path) -> Corpus:
    """Read a BRIGHT document folder (see the module docstring for the two layouts)."""
    root = Path(docs_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"BRIGHT documents folder {root} not found")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    jsonl = [p for p in files if p.name.endswith((".jsonl", ".jsonl.gz"))]
    corpus: Corpus = {}
    if jsonl:
        for path in jsonl:
            for line, obj in iter_jsonl(path):
                id_key = next((k for k in _ID_KEYS if k in obj), None)
                text_key = next((k for k in _TEXT_KEYS if k in obj), None)
                if id_key is None or text_key is None:
                    raise DataFormatError(path, line, f"needs one of {_ID_KEYS} and one of {_TEXT_KEYS}")
                doc_id = require_id(obj, id_key, path, line)
                if doc_id in corpus:
                    raise DataFormatError(path, line, f"duplicate document id {doc_id!r}")
                corpus[doc_id] = Document(
                    doc_id, require_str(obj, text_key, path, line), optional_str(obj, "title", path, line)
                )
        return corpus
    for path in files:
        doc_id = path.relative_to(root).as_posix()
        corpus[doc_id] = Document(doc_id, read_text(path))
    if not corpus:
        raise FileNotFoundError(f"no documents in {root}")
    return corpus


def bright_files(subset: str, data_dir: str | Path | None = None) -> dict[str, Path]:
    """Paths of one subset's files (``topics``, ``records``, ``qrels``, ``qrels_fixed``, ``exclude``)."""
    from polyret.data.catalog import dataset_path

    root = dataset_path(f"bright/{subset}", data_dir)
    return {
        "topics": root / "topics" / f"topics.bright-{subset}.tsv.gz",
        "records": root / "topics" / f"topics.bright-{subset}-original.jsonl.gz",
        "qrels": root / "qrels" / f"qrels.bright-{subset}.txt",
        "qrels_fixed": root / "qrels" / f"qrels.bright-{subset}.fixed.txt",
        "exclude": root / "qrels" / f"exclude.bright-{subset}.txt",
    }


def load_bright(
    subset: str,
    data_dir: str | Path | None = None,
    docs_dir: str | Path | None = None,
    qrels: str = "plain",
) -> BrightData:
    """Load one BRIGHT subset; ``qrels`` is ``"plain"`` or ``"fixed"``."""
    if qrels not in ("plain", "fixed"):
        raise ValueError(f"qrels must be 'plain' or 'fixed', got {qrels!r}")
    files = bright_files(subset, data_dir)
    topics = read_topics(files["topics"])
    records = read_bright_records(files["records"]) if files["records"].is_file() else {}
    if records and set(records) != set(topics):
        diff = sorted(set(records) ^ set(topics))[:5]
        raise DataFormatError(
            files["records"], None, f"query ids differ from {files['topics'].name}: e.g. {diff}"
        )
    queries: Queries = {q: Query(q, records[q].query) for q in topics} if records else topics
    qrels_path = files["qrels_fixed" if qrels == "fixed" else "qrels"]
    judged, first_line = read_trec_qrels_lines(qrels_path)
    excluded = {q: set(r.excluded_ids) for q, r in records.items() if r.excluded_ids}
    if files["exclude"].is_file():
        for q, ids in read_exclude_file(files["exclude"]).items():
            excluded.setdefault(q, set()).update(ids)
    corpus = load_bright_docs(docs_dir) if docs_dir is not None else None
    judged, skipped = validate_qrels(judged, qrels_path, queries, corpus, first_line)
    read = [files["topics"], qrels_path] + [files[k] for k in ("records", "exclude") if files[k].is_file()]
    return BrightData(subset, queries, records, judged, excluded, corpus, skipped, read)
