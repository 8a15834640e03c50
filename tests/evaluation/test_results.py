"""Result documents: JSON round trip, schema checks and upgrade, typed accessors, NaN handling,
atomic writes, fingerprints."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polyret.errors import UserError
from polyret.evaluation.results import SCHEMA_VERSION, EvalResult, fingerprint_files


def _result() -> EvalResult:
    return EvalResult(
        task="beir/scifact",
        model={"name": "bm25", "kind": "bm25"},
        config={"task": "beir/scifact", "seed": 0, "languages": None},
        metrics={"all": {"nDCG@10": np.float64(0.5), "R@100": float("nan")}},
        per_query={"all": {"nDCG@10": {"q1": 1.0, "q2": 0.0}}},
        pairs={"AP": {"en": {"de": 0.25}}},
        subsets={"long": {"size": 1, "queries": {"q1": "30 words >= 75th percentile 20"}}},
        extra={"run_rules": {"self_hits_removed": 3}, "sizes": (1, 2)},
        timings={"encode_s": 1.5},
        settings={"max_query_length": 512, "max_passage_length": 512, "precision": {"used": "fp32"}},
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
    with pytest.raises(UserError, match=f"x.json: schema_version {SCHEMA_VERSION + 1} is not supported"):
        EvalResult.from_dict(bad, "x.json")
    with pytest.raises(UserError, match="missing \\['per_query'\\]"):
        EvalResult.from_dict({k: v for k, v in obj.items() if k != "per_query"})
    broken = tmp_path / "broken.json"
    broken.write_text('{"task": \n oops')
    with pytest.raises(UserError, match="broken.json:2: invalid JSON"):
        EvalResult.load(broken)
    with pytest.raises(UserError, match="missing.json: results file not found"):
        EvalResult.load(tmp_path / "missing.json")


def test_schema_1_files_are_upgraded_to_ir_measures_names():
    v1 = {
        "task": "xquad-r", "model": {"name": "e5"}, "config": {}, "schema_version": 1,
        "metrics": {"mono": {"mAP": 0.8, "MRR": 0.8, "R@1": 0.7}, "bias": {"mono_minus_cross_mAP": 0.05}},
        "per_query": {"mono": {"mAP": {"en:1": 1.0}, "MRR": {"en:1": 1.0}}},
        "pairs": {"metrics": {"mAP": {"en": {"de": 0.5}}}},
    }
    r = EvalResult.from_dict(v1, "old.json")
    assert r.schema_version == SCHEMA_VERSION and r.settings == {}
    assert r.metric("mono", "AP") == 0.8 and r.metric("mono", "RR") == 0.8 and r.metric("mono", "mAP") is None
    assert r.metric("bias", "mono_minus_cross_AP") == 0.05
    assert r.scores("mono", "AP") == {"en:1": 1.0} and r.pairs["metrics"]["AP"]["en"]["de"] == 0.5


def test_typed_accessors():
    r = _result()
    assert r.metric("all", "nDCG@10") == 0.5 and r.metric("all", "R@100") is None  # NaN -> None
    assert r.scores("all", "nDCG@10") == {"q1": 1.0, "q2": 0.0} and r.scores("all", "AP@100") == {}
    assert r.query_ids() == ["q1", "q2"]
    r.data["files"] = {"/a/x": {"sha256": "bb"}, "/b/y": {"sha256": "aa"}}
    assert r.fingerprints() == ["aa", "bb"]


def test_save_is_atomic(tmp_path, monkeypatch):
    """A failure while writing leaves the previous file intact and no partial file or temporary."""
    path = _result().save(tmp_path / "r.json")
    before = path.read_bytes()
    r = _result()
    r.extra["bad"] = object()  # not JSON-serialisable: json.dumps fails before anything is written
    with pytest.raises(TypeError):
        r.save(path)
    import polyret.atomic

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(polyret.atomic.os, "fsync", boom)
    with pytest.raises(OSError):
        _result().save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_fingerprint_files(tmp_path):
    (tmp_path / "a.txt").write_text("abc")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b.txt").write_text("x")
    fp = fingerprint_files([tmp_path / "a.txt", tmp_path / "d"])
    assert fp[str(tmp_path / "a.txt")] == {
        "bytes": 3, "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}
    # a folder: every file below it, each with its own size and digest (sha256 of "x")
    assert fp[str(tmp_path / "d" / "b.txt")] == {
        "bytes": 1, "sha256": "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"}
    assert len(fp) == 2
