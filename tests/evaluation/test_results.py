"""Result documents: JSON round trip, schema checks, NaN handling, fingerprints."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from polyret.evaluation.results import SCHEMA_VERSION, EvalResult, fingerprint_files


def _result() -> EvalResult:
    return EvalResult(
        task="beir/scifact",
        model={"name": "bm25", "kind": "bm25"},
        config={"task": "beir/scifact", "seed": 0, "languages": None},
        metrics={"all": {"nDCG@10": np.float64(0.5), "R@100": float("nan")}},
        per_query={"all": {"nDCG@10": {"q1": 1.0, "q2": 0.0}}},
        pairs={"mAP": {"en": {"de": 0.25}}},
        subsets={"long": {"size": 1, "queries": {"q1": "30 words >= 75th percentile 20"}}},
        extra={"run_rules": {"self_hits_removed": 3}, "sizes": (1, 2)},
        timings={"encode_s": 1.5},
    )


def test_round_trip(tmp_path):
    r = _result()
    path = r.save(tmp_path / "sub" / "r.json")
    back = EvalResult.load(path)
    assert back.schema_version == SCHEMA_VERSION
    assert back.metrics["all"]["nDCG@10"] == 0.5 and back.metrics["all"]["R@100"] is None  # NaN -> null
    assert back.per_query == r.per_query and back.subsets == r.subsets and back.pairs == r.pairs
    assert back.extra["sizes"] == [1, 2] and back.created == r.created
    assert back.to_dict() == EvalResult.from_dict(json.loads(path.read_text())).to_dict()


def test_schema_version_and_fields_checked(tmp_path):
    obj = _result().to_dict()
    bad = dict(obj, schema_version=SCHEMA_VERSION + 1)
    with pytest.raises(ValueError, match="schema_version"):
        EvalResult.from_dict(bad, "x.json")
    with pytest.raises(ValueError, match="missing \\['per_query'\\]"):
        EvalResult.from_dict({k: v for k, v in obj.items() if k != "per_query"})
    broken = tmp_path / "broken.json"
    broken.write_text('{"task": \n oops')
    with pytest.raises(ValueError, match="broken.json:2"):
        EvalResult.load(broken)


def test_fingerprint_files(tmp_path):
    (tmp_path / "a.txt").write_text("abc")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b.txt").write_text("x")
    fp = fingerprint_files([tmp_path / "a.txt", tmp_path / "d"])
    assert fp[str(tmp_path / "a.txt")] == {
        "bytes": 3, "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}
    assert str(tmp_path / "d" / "b.txt") in fp
    assert not math.isnan(fp[str(tmp_path / "d" / "b.txt")]["bytes"])
