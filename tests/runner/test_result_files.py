"""Experiment result files are typed EvalResults; a damaged one is a one-line error naming it."""

from __future__ import annotations

import gzip

import pytest

from polyret.errors import UserError
from polyret.evaluation.results import EvalResult
from polyret.experiment.layout import read_result, write_result


def _result() -> EvalResult:
    return EvalResult(task="birco/wtb", model={"name": "bm25", "kind": "bm25"}, config={"task": "birco/wtb"},
                      metrics={"all": {"nDCG@10": 0.5}}, per_query={"all": {"nDCG@10": {"q1": 0.123456789}}},
                      experiment={"cell_id": "bm25-x", "suite_key": "k"})


def test_round_trip_keeps_the_record_and_rounds_per_query(tmp_path):
    back = read_result(write_result(tmp_path / "r.json.gz", _result()))
    assert isinstance(back, EvalResult) and back.experiment == {"cell_id": "bm25-x", "suite_key": "k"}
    assert back.metric("all", "nDCG@10") == 0.5 and back.scores("all", "nDCG@10") == {"q1": 0.123457}


@pytest.mark.parametrize("content", [b"\x1f\x8b\x08garbage", b"{not json", b"[1, 2]",
                                     gzip.compress(b'{"task": "x", "schema_version": 2}'),
                                     gzip.compress(b'{"task": "x", "model": {}, "config": {}, "metrics": {},'
                                                   b' "per_query": {}, "schema_version": 2, "timings": 1}')])
def test_damaged_result_names_the_file(tmp_path, content):
    path = tmp_path / "cells" / "c" / "results" / "beir-x.json.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(UserError) as err:
        read_result(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
