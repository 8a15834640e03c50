from __future__ import annotations

import json

import pytest
from data_builders import write_lines

from polyret.data.bright import load_bright, load_bright_docs
from polyret.data.errors import DataFormatError, DataWarning

RECORDS = [
    {"query": "Why?\nBecause.", "reasoning": "think", "id": "0", "excluded_ids": ["N/A"],
     "gold_ids_long": ["doc/a.txt"], "gold_ids": ["doc/a_1.txt"], "gold_answer": "N/A"},
    {"query": "How?", "reasoning": "N/A", "id": "1", "excluded_ids": ["doc/x_1.txt"],
     "gold_ids_long": [], "gold_ids": ["doc/b_1.txt", "doc/b_2.txt"], "gold_answer": "42"},
]  # fmt: skip


@pytest.fixture
def bright_root(tmp_path):
    root = tmp_path / "data"
    b = root / "bright"
    write_lines(b / "topics" / "topics.bright-pony.tsv.gz", ["0\tWhy? Because.", "1\tHow?"], gz=True)
    write_lines(
        b / "topics" / "topics.bright-pony-original.jsonl.gz", [json.dumps(r) for r in RECORDS], gz=True
    )
    write_lines(
        b / "qrels" / "qrels.bright-pony.txt", ["0 0 doc/a_1.txt 1", "1 0 doc/b_1.txt 1", "1 0 doc/b_2.txt 1"]
    )
    write_lines(b / "qrels" / "qrels.bright-pony.fixed.txt", ["0 0 doc/a_1.txt 1", "0 0 doc/a_2.txt 1"])
    write_lines(b / "qrels" / "exclude.bright-pony.txt", ["1 doc/y_1.txt"])
    return root


def test_records_queries_qrels_and_exclusions(bright_root):
    data = load_bright("pony", data_dir=bright_root)
    assert data.queries["0"].text == "Why?\nBecause."  # BRIGHT's own text, from the original records
    r0, r1 = data.records["0"], data.records["1"]
    assert (r0.reasoning, r0.excluded_ids, r0.gold_ids, r0.gold_answer) == ("think", (), ("doc/a_1.txt",), "")
    assert (r1.reasoning, r1.gold_answer) == ("", "42")
    assert data.qrels == {"0": {"doc/a_1.txt": 1}, "1": {"doc/b_1.txt": 1, "doc/b_2.txt": 1}}
    assert data.excluded == {"1": {"doc/x_1.txt", "doc/y_1.txt"}}  # records + exclude file
    assert sorted(f.name for f in data.files) == [
        "exclude.bright-pony.txt",
        "qrels.bright-pony.txt",
        "topics.bright-pony-original.jsonl.gz",
        "topics.bright-pony.tsv.gz",
    ]
    fixed = load_bright("pony", data_dir=bright_root, qrels="fixed")
    assert fixed.qrels == {"0": {"doc/a_1.txt": 1, "doc/a_2.txt": 1}}
    with pytest.raises(ValueError, match="'plain' or 'fixed'"):
        load_bright("pony", data_dir=bright_root, qrels="new")


def test_document_folder_of_files_ids_are_relative_paths(bright_root, tmp_path):
    docs = tmp_path / "docs"
    for name in ("a_1.txt", "b_1.txt"):
        write_lines(docs / "doc" / name, [f"text of {name}"])
    with pytest.warns(DataWarning, match="skipped 1 qrels rows"):
        data = load_bright("pony", data_dir=bright_root, docs_dir=docs)
    assert set(data.corpus) == {"doc/a_1.txt", "doc/b_1.txt"}
    assert data.qrels == {"0": {"doc/a_1.txt": 1}, "1": {"doc/b_1.txt": 1}} and data.skipped_qrels == 1


def test_document_folder_of_jsonl(tmp_path):
    docs = tmp_path / "docs"
    write_lines(
        docs / "d.jsonl", [json.dumps({"id": "doc/a_1.txt", "content": "A"}), json.dumps({"id": "z"})]
    )
    with pytest.raises(DataFormatError, match=r"d\.jsonl:2: needs one of"):
        load_bright_docs(docs)
    write_lines(docs / "d.jsonl", [json.dumps({"_id": "doc/a_1.txt", "text": "A", "title": "t"})])
    assert load_bright_docs(docs)["doc/a_1.txt"].title == "t"


def test_topic_ids_must_match_records(bright_root):
    write_lines(
        bright_root / "bright" / "topics" / "topics.bright-pony.tsv.gz", ["0\tWhy?", "5\tOther"], gz=True
    )
    with pytest.raises(DataFormatError, match=r"pony-original\.jsonl\.gz: query ids differ"):
        load_bright("pony", data_dir=bright_root)


def test_bad_record_line(bright_root):
    path = bright_root / "bright" / "topics" / "topics.bright-pony-original.jsonl.gz"
    write_lines(path, [json.dumps(RECORDS[0]), '{"query": "cut'], gz=True)
    with pytest.raises(DataFormatError, match=r"original\.jsonl\.gz:2: malformed JSON line"):
        load_bright("pony", data_dir=bright_root)
