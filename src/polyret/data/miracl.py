"""MIRACL: topics (``qid<TAB>query``), TREC qrels, and a user-supplied corpus in MIRACL's jsonl
passage format (``{"docid", "title", "text"}``, ``.jsonl`` or ``.jsonl.gz``, one file or a folder
of shards such as ``docs-0.jsonl.gz`` ...)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from polyret.data.beir import validate_qrels
from polyret.data.errors import DataFormatError
from polyret.data.io import iter_jsonl, optional_str, require_id, require_str
from polyret.data.trec import read_topics, read_trec_qrels, read_trec_qrels_lines
from polyret.types import Corpus, Document, Qrels, Queries

__all__ = ["MiraclData", "load_miracl", "load_miracl_corpus", "read_topics", "read_trec_qrels"]


@dataclass
class MiraclData:
    """One language and split of MIRACL; ``corpus`` is None unless one was supplied."""

    lang: str
    split: str
    queries: Queries
    qrels: Qrels
    corpus: Corpus | None = None
    skipped_qrels: int = 0  # judgements whose passage is not in the supplied corpus
    files: list[Path] = field(default_factory=list)  # the files read (topics, qrels, corpus shards)


def _shard_key(path: Path) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name))


def corpus_files(path_or_dir: str | Path) -> list[Path]:
    """The ``.jsonl(.gz)`` file, or those of a folder in natural shard order (docs-2 before docs-10)."""
    root = Path(path_or_dir)
    if root.is_dir():
        files = sorted(
            (p for p in root.rglob("*") if p.name.endswith((".jsonl", ".jsonl.gz"))), key=_shard_key
        )
        if not files:
            raise FileNotFoundError(f"no .jsonl / .jsonl.gz files in {root}")
        return files
    if root.is_file():
        return [root]
    raise FileNotFoundError(f"MIRACL corpus {root} not found")


def load_miracl_corpus(path_or_dir: str | Path) -> Corpus:
    """Read MIRACL passages from a ``.jsonl(.gz)`` file or every such file of a folder (natural order)."""
    corpus: Corpus = {}
    for path in corpus_files(path_or_dir):
        for line, obj in iter_jsonl(path):
            doc_id = require_id(obj, "docid", path, line)
            if doc_id in corpus:
                raise DataFormatError(path, line, f"duplicate docid {doc_id!r}")
            corpus[doc_id] = Document(
                doc_id, require_str(obj, "text", path, line), optional_str(obj, "title", path, line)
            )
    return corpus


def miracl_files(lang: str, split: str, data_dir: str | Path | None = None) -> tuple[Path, Path]:
    """(topics, qrels) paths of one language and split."""
    from polyret.data.catalog import dataset_path

    root = dataset_path(f"miracl/{lang}", data_dir)
    topics = root / "topics" / f"topics.miracl-v1.0-{lang}-{split}.tsv"
    qrels = root / "qrels" / f"qrels.miracl-v1.0-{lang}-{split}.tsv"
    for p in (topics, qrels):
        if not p.is_file():
            raise FileNotFoundError(f"{p} not found (MIRACL {lang} has no {split!r} split here)")
    return topics, qrels


def load_miracl(
    lang: str,
    split: str = "dev",
    data_dir: str | Path | None = None,
    corpus: Corpus | str | Path | None = None,
) -> MiraclData:
    """Topics and qrels of ``miracl/<lang>`` (``split`` dev or train), with an optional corpus.

    A qrels row naming a query absent from the topics is an error; with a corpus, judgements of
    passages missing from it are dropped with a counted warning (as for BEIR).
    """
    topics_path, qrels_path = miracl_files(lang, split, data_dir)
    queries = read_topics(topics_path)
    qrels, first_line = read_trec_qrels_lines(qrels_path)
    files = [topics_path, qrels_path]
    docs = corpus
    if isinstance(corpus, str | Path):
        files += corpus_files(corpus)
        docs = load_miracl_corpus(corpus)
    qrels, skipped = validate_qrels(qrels, qrels_path, queries, docs, first_line)
    return MiraclData(lang, split, queries, qrels, docs, skipped, files)
