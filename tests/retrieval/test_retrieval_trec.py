"""TREC run files: round trip and line-numbered errors."""

from __future__ import annotations

import pytest

from polyret.retrieval.trec import RunFormatError, read_run, write_run


def test_round_trip_sorted_with_ranks(tmp_path):
    run = {"q2": {"d1": 0.5, "d2": 0.9, "d0": 0.5}, "q1": {"x": 1.0}}
    path = write_run(run, tmp_path / "r.trec", tag="mine")
    lines = path.read_text().splitlines()
    assert lines[0] == "q1 Q0 x 1 1.000000 mine"
    assert [ln.split()[2] for ln in lines[1:]] == ["d2", "d0", "d1"]  # score desc, doc id asc
    assert [ln.split()[3] for ln in lines[1:]] == ["1", "2", "3"]
    assert read_run(path) == run


@pytest.mark.parametrize("text,message", [
    ("q1 Q0 d1 1 0.5 tag\nq1 Q0 d2 2\n", r"r\.trec:2: expected 6 fields"),
    ("q1 Q0 d1 one 0.5 tag\n", r"r\.trec:1: rank must be an integer"),
    ("q1 Q0 d1 1 nan tag\n", r"r\.trec:1: score is not finite"),
    ("q1 Q0 d1 1 0.5 t\n\nq1 Q0 d1 2 0.4 t\n", r"r\.trec:3: doc 'd1' appears twice"),
])
def test_malformed_lines_name_file_and_line(tmp_path, text, message):
    (tmp_path / "r.trec").write_text(text)
    with pytest.raises(RunFormatError, match=message):
        read_run(tmp_path / "r.trec")


def test_non_utf8_run_names_the_line(tmp_path):
    (tmp_path / "r.trec").write_bytes(b"q1 Q0 d1 1 0.5 t\nq1 Q0 d\xff 2 0.4 t\n")
    with pytest.raises(RunFormatError, match=r"r\.trec:2: not valid UTF-8"):
        read_run(tmp_path / "r.trec")


def test_ids_with_whitespace_cannot_be_written(tmp_path):
    with pytest.raises(ValueError, match="whitespace"):
        write_run({"q 1": {"d": 1.0}}, tmp_path / "r.trec")
    with pytest.raises(ValueError, match="tag"):
        write_run({"q": {"d": 1.0}}, tmp_path / "r.trec", tag="two words")
