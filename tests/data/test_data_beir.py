from __future__ import annotations

import json
import warnings

import pytest

from polyret.data.beir import beir_splits, load_beir, read_corpus
from polyret.data.errors import DataFormatError, DataWarning

DOCS = {
    "d1": ("Paris", "Paris is the capital of France."),
    "d2": ("", "Berlin is in Germany."),
    "d3": ("T", "x"),
}
QUERIES = {"q1": "capital of france", "q2": "germany", "q3": "unjudged"}


def test_load_beir_reads_corpus_queries_and_split_qrels(make_beir):
    folder = make_beir(
        DOCS, QUERIES, {"test": ["q1\td1\t2", "q1\td3\t0", "q2\td2\t1"], "train": ["q3\td3\t1"]}
    )
    data = load_beir(folder, "test")
    assert data.name == "tiny" and data.split == "test"
    assert set(data.corpus) == {"d1", "d2", "d3"}
    assert data.corpus["d1"].title == "Paris" and data.corpus["d2"].text == "Berlin is in Germany."
    assert set(data.queries) == {"q1", "q2", "q3"}  # every query is kept ...
    assert data.qrels == {"q1": {"d1": 2, "d3": 0}, "q2": {"d2": 1}}  # ... qrels only of the split
    assert set(data.judged_queries()) == {"q1", "q2"}
    assert beir_splits(folder) == ["test", "train"]
    assert load_beir(folder, "train").qrels == {"q3": {"d3": 1}}
    assert [f.name for f in data.files] == ["corpus.jsonl", "queries.jsonl", "test.tsv"]


def test_missing_split_names_the_file_and_present_splits(make_beir):
    folder = make_beir(DOCS, QUERIES, {"test": ["q1\td1\t1"]})
    with pytest.raises(FileNotFoundError, match=r"dev\.tsv.*splits present: test"):
        load_beir(folder, "dev")


def test_qrels_for_unknown_document_are_skipped_with_a_counted_warning(make_beir):
    folder = make_beir(DOCS, QUERIES, {"test": ["q1\td1\t1", "q1\tgone\t1", "q2\tgone2\t1"]})
    with pytest.warns(DataWarning, match=r"test\.tsv: skipped 2 qrels rows .*\(1 queries left without"):
        data = load_beir(folder)
    assert data.qrels == {"q1": {"d1": 1}}
    assert data.skipped_qrels == 2


def test_no_warning_when_every_document_exists(make_beir):
    folder = make_beir(DOCS, QUERIES, {"test": ["q1\td1\t1"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_beir(folder).skipped_qrels == 0


def test_qrels_for_unknown_query_is_an_error_naming_file_and_line(make_beir):
    folder = make_beir(DOCS, QUERIES, {"test": ["q1\td1\t1", "q1\td2\t0", "nope\td1\t1"]})
    with pytest.raises(DataFormatError, match=r"test\.tsv:4: qrels name query 'nope'") as e:
        load_beir(folder)
    assert e.value.line == 4 and e.value.path.name == "test.tsv"


@pytest.mark.parametrize(
    ("row", "message"),
    [("q1\td1", "expected 3 tab-separated columns, got 2"), ("q1\td1\thigh", "score must be an integer")],
)
def test_bad_qrels_rows_name_the_line(make_beir, row, message):
    folder = make_beir(DOCS, QUERIES, {"test": ["q1\td1\t1", row]})
    with pytest.raises(DataFormatError, match=rf"test\.tsv:3: {message}"):
        load_beir(folder)


def test_qrels_without_header_is_read_and_wrong_header_is_an_error(make_beir, tmp_path):
    folder = make_beir(DOCS, QUERIES, {"test": ["q1\td1\t1"]}, header=False)
    assert load_beir(folder).qrels == {"q1": {"d1": 1}}
    (folder / "qrels" / "test.tsv").write_text("qid\tdocid\trel\nq1\td1\t1\n")
    with pytest.raises(DataFormatError, match=r"test\.tsv:1: expected header"):
        load_beir(folder)


def test_truncated_corpus_line_is_an_error_naming_file_and_line(make_beir):
    folder = make_beir(DOCS, QUERIES, {"test": ["q1\td1\t1"]})
    path = folder / "corpus.jsonl"
    path.write_text(path.read_text() + '{"_id": "d9", "text": "cut of\n')
    with pytest.raises(DataFormatError, match=r"corpus\.jsonl:4: malformed JSON line") as e:
        load_beir(folder)
    assert e.value.line == 4


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"title": "no id", "text": "x"}, "missing field '_id'"),
        ({"_id": "d1", "text": "again"}, "duplicate document id 'd1'"),
        ({"_id": "d7", "text": ["not", "a", "string"]}, "field 'text' must be a string"),
        (["a", "list"], "expected a JSON object"),
    ],
)
def test_bad_corpus_rows(tmp_path, row, message):
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps({"_id": "d1", "text": "ok"}) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(DataFormatError, match=rf"corpus\.jsonl:2: {message}"):
        read_corpus(path)


def test_gzipped_corpus_and_blank_lines(tmp_path):
    import gzip

    path = tmp_path / "corpus.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write('{"_id": "a", "text": "x", "title": null}\n\n{"_id": 7, "text": "y"}\n')
    corpus = read_corpus(path)
    assert list(corpus) == ["a", "7"] and corpus["a"].title == ""


def test_conflicting_duplicate_qrels_rows_are_an_error_naming_both_lines(make_beir):
    """As the TREC reader: ``q1 d1 1`` then ``q1 d1 0`` is refused (it was last-wins before)."""
    folder = make_beir(DOCS, QUERIES, {"test": ["q1\td1\t1", "q2\td2\t1", "q1\td1\t0"]})
    message = r"test\.tsv:4: \(q1, d1\) judged twice: 1 on line 2 and 0 on line 4"
    with pytest.raises(DataFormatError, match=message):
        load_beir(folder, "test")


def test_identical_duplicate_qrels_rows_are_collapsed_with_a_counted_warning(make_beir):
    folder = make_beir(DOCS, QUERIES, {"test": ["q1\td1\t1", "q1\td1\t1", "q1\td1\t1", "q2\td2\t1"]})
    with pytest.warns(DataWarning, match="collapsed 2 repeated identical qrels rows"):
        data = load_beir(folder, "test")
    assert data.qrels == {"q1": {"d1": 1}, "q2": {"d2": 1}}


def test_header_only_qrels_is_an_error(make_beir):
    folder = make_beir(DOCS, QUERIES, {"test": []})
    with pytest.raises(DataFormatError, match=r"test\.tsv: no judgements"):
        load_beir(folder, "test")


def test_bom_and_crlf_are_read_like_plain_lines_and_bad_utf8_names_its_line(make_beir):
    folder = make_beir(DOCS, QUERIES, {"test": ["q1\td1\t1"]})
    corpus = folder / "corpus.jsonl"
    plain = read_corpus(corpus)
    corpus.write_bytes(b"\xef\xbb\xbf" + corpus.read_bytes().replace(b"\n", b"\r\n"))
    assert read_corpus(corpus) == plain  # no BOM inside the first id, no CR inside a text
    lines = corpus.read_bytes().split(b"\r\n")
    lines[1] = lines[1].replace(b'"text"', b'"te\xffxt"')
    corpus.write_bytes(b"\r\n".join(lines))
    with pytest.raises(DataFormatError, match=r"corpus\.jsonl:2: invalid UTF-8"):
        read_corpus(corpus)
