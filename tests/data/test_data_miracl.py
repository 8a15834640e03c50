from __future__ import annotations

import json

import pytest
from data_builders import write_lines

from polyret.data.errors import DataFormatError, DatasetNotFound, DataWarning
from polyret.data.miracl import load_miracl, load_miracl_corpus, read_topics, read_trec_qrels


@pytest.fixture
def miracl_root(tmp_path):
    root = tmp_path / "data"
    write_lines(
        root / "miracl" / "topics" / "topics.miracl-v1.0-sw-dev.tsv", ["1\tNi nini?", "7\tWapi\tna lini?"]
    )
    write_lines(
        root / "miracl" / "qrels" / "qrels.miracl-v1.0-sw-dev.tsv",
        ["1\tQ0\t10#0\t1", "1\tQ0\t10#1\t0", "7\tQ0\t11#0\t1"],
    )
    write_lines(root / "miracl" / "topics" / "topics.miracl-v1.0-sw-train.tsv", ["2\tx"])
    write_lines(root / "miracl" / "qrels" / "qrels.miracl-v1.0-sw-train.tsv", ["2 Q0 12#0 1"])
    return root


def test_topics_and_trec_qrels(miracl_root):
    data = load_miracl("sw", data_dir=miracl_root)
    assert data.queries["7"].text == "Wapi\tna lini?"  # a tab inside the query text is kept
    assert data.qrels == {"1": {"10#0": 1, "10#1": 0}, "7": {"11#0": 1}}
    assert data.corpus is None and data.skipped_qrels == 0
    assert [f.name for f in data.files] == ["topics.miracl-v1.0-sw-dev.tsv", "qrels.miracl-v1.0-sw-dev.tsv"]
    assert load_miracl("sw", "train", data_dir=miracl_root).qrels == {"2": {"12#0": 1}}


def test_missing_language_says_where_it_looked(miracl_root):
    with pytest.raises(DatasetNotFound, match="miracl/yo") as e:
        load_miracl("yo", data_dir=miracl_root)
    assert miracl_root / "miracl" in e.value.searched


def test_corpus_shards_in_natural_order_and_missing_passages_warned(miracl_root, tmp_path):
    corpus_dir = tmp_path / "corpus"
    write_lines(corpus_dir / "docs-10.jsonl", [json.dumps({"docid": "11#0", "title": "B", "text": "b"})])
    write_lines(
        corpus_dir / "docs-2.jsonl.gz", [json.dumps({"docid": "10#0", "title": "A", "text": "a"})], gz=True
    )
    corpus = load_miracl_corpus(corpus_dir)
    assert list(corpus) == ["10#0", "11#0"] and corpus["10#0"].title == "A"
    with pytest.warns(DataWarning, match="skipped 1 qrels rows"):
        data = load_miracl("sw", data_dir=miracl_root, corpus=corpus_dir)
    assert data.qrels == {"1": {"10#0": 1}, "7": {"11#0": 1}} and data.skipped_qrels == 1
    assert [f.name for f in data.files[2:]] == ["docs-2.jsonl.gz", "docs-10.jsonl"]


def test_corpus_errors(tmp_path):
    path = write_lines(
        tmp_path / "c.jsonl", [json.dumps({"docid": "a", "text": "x"}), json.dumps({"text": "y"})]
    )
    with pytest.raises(DataFormatError, match=r"c\.jsonl:2: missing field 'docid'"):
        load_miracl_corpus(path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .jsonl"):
        load_miracl_corpus(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="not found"):
        load_miracl_corpus(tmp_path / "missing")


def test_unknown_query_in_qrels_is_an_error_with_line(miracl_root):
    qrels = miracl_root / "miracl" / "qrels" / "qrels.miracl-v1.0-sw-dev.tsv"
    qrels.write_text(qrels.read_text() + "99\tQ0\t1#0\t1\n")
    with pytest.raises(DataFormatError, match=r"sw-dev\.tsv:4: qrels name query '99'"):
        load_miracl("sw", data_dir=miracl_root)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["1\tQ0\td\t1", "1\tQ0\td"], r":2: expected 4 fields"),
        (["1\tQ0\td\tyes"], r":1: relevance must be an integer"),
        (["1\tQ0\td\t1", "1\tQ0\td\t0"], r":2: \(1, d\) judged twice: 1 on line 1 and 0 on line 2"),
    ],
)
def test_bad_trec_qrels(tmp_path, lines, message):
    with pytest.raises(DataFormatError, match=message):
        read_trec_qrels(write_lines(tmp_path / "q.txt", lines))


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["1\tok", "no tab here"], r":2: expected 'query-id<TAB>query text'"),
        (["1\ta", "1\tb"], "duplicate query id"),
    ],
)
def test_bad_topics(tmp_path, lines, message):
    with pytest.raises(DataFormatError, match=message):
        read_topics(write_lines(tmp_path / "t.tsv", lines))
