"""TREC run files: round trip and line-numbered errors."""

from __future__ import annotations

import gzip

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
    with pytest.raises(RunFormatError, match=r"r\.trec:2: invalid UTF-8 \(byte 0xff at column 8\)"):
        read_run(tmp_path / "r.trec")


def test_run_format_error_is_a_user_error():
    from polyret.data.errors import DataFormatError
    from polyret.errors import UserError

    assert issubclass(RunFormatError, UserError) and issubclass(RunFormatError, DataFormatError)


def test_bom_crlf_and_gzip_read_like_a_plain_run(tmp_path):
    text = "q1 Q0 d1 1 0.9 t\nq1 Q0 d2 2 0.5 t\nq2 Q0 d1 1 0.3 t\n"
    expected = {"q1": {"d1": 0.9, "d2": 0.5}, "q2": {"d1": 0.3}}
    (tmp_path / "bom.trec").write_bytes(b"\xef\xbb\xbf" + text.encode())
    (tmp_path / "crlf.trec").write_bytes(text.replace("\n", "\r\n").encode())
    (tmp_path / "run.trec.gz").write_bytes(gzip.compress(text.encode()))
    for name in ("bom.trec", "crlf.trec", "run.trec.gz"):
        assert read_run(tmp_path / name) == expected, name


def test_damaged_gzip_run_names_the_file(tmp_path):
    data = gzip.compress(b"q1 Q0 d1 1 0.9 t\n" * 200)
    (tmp_path / "run.trec.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(RunFormatError, match=r"run\.trec\.gz:\d+: damaged or truncated gzip"):
        read_run(tmp_path / "run.trec.gz")


def test_ids_with_whitespace_cannot_be_written(tmp_path):
    with pytest.raises(ValueError, match="whitespace"):
        write_run({"q 1": {"d": 1.0}}, tmp_path / "r.trec")
    with pytest.raises(ValueError, match="tag"):
        write_run({"q": {"d": 1.0}}, tmp_path / "r.trec", tag="two words")


@pytest.mark.parametrize("cut", [5, 12, 20, 24])
def test_a_run_cut_short_is_refused(tmp_path, cut):
    path = write_run({"q1": {"d1": 0.9, "d2": 0.5}, "q2": {"d3": 0.7}}, tmp_path / "r.trec", tag="polyret")
    data = path.read_bytes()
    first_two = data.index(b"\n", data.index(b"\n") + 1) + 1
    path.write_bytes(data[: first_two + cut])  # the third line cut somewhere inside
    with pytest.raises(RunFormatError, match=r"r\.trec:3: "):
        read_run(path)


def test_a_complete_last_line_without_line_end_is_accepted(tmp_path):
    path = tmp_path / "r.trec"
    path.write_text("q1 Q0 d1 1 0.9 x\nq1 Q0 d2 2 0.5 x")
    assert read_run(path) == {"q1": {"d1": 0.9, "d2": 0.5}}


def test_failing_write_leaves_the_previous_run(tmp_path):
    path = write_run({"q1": {"d1": 0.9}}, tmp_path / "r.trec")
    before = path.read_bytes()
    with pytest.raises(ValueError, match="whitespace"):
        write_run({"q1": {"d1": 0.9}, "q2": {"bad id": 0.1}}, path)
    with pytest.raises(ValueError, match="not finite"):
        write_run({"q1": {"d1": float("nan")}}, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["r.trec"]
