"""Task names, result comparison (paired tests + Holm over the report), summary rendering."""

from __future__ import annotations

import numpy as np
import pytest

from polyret.evaluation.compare import compare_results
from polyret.evaluation.report import comparison_table, summarize
from polyret.evaluation.results import EvalResult
from polyret.evaluation.significance import holm
from polyret.evaluation.tasks import parse_task


def test_parse_task(tmp_path):
    assert parse_task("xquad-r").kind == "lareqa" and parse_task("xquad-r").task == "xquad-r"
    assert parse_task("beir/scifact").name == "scifact" and parse_task("beir/scifact").folder is None
    assert parse_task("miracl/sw").bm25_language == "sw"
    (tmp_path / "mine").mkdir()
    spec = parse_task(f"beir/{tmp_path / 'mine'}")
    assert spec.folder == tmp_path / "mine" and spec.task == "beir/mine"
    assert parse_task(f"lareqa/{tmp_path / 'mine'}").task == "lareqa/mine"
    for bad in ("squad", "beir/", "trec/x", f"beir/{tmp_path / 'missing'}"):
        with pytest.raises(ValueError):
            parse_task(bad)


def _result(name: str, scores: dict[str, float], subsets=None) -> EvalResult:
    return EvalResult(
        task="beir/scifact",
        model={"name": name},
        config={},
        metrics={"all": {"nDCG@10": float(np.mean(list(scores.values())))}},
        per_query={"all": {"nDCG@10": scores}},
        subsets=subsets or {},
        data={"queries": len(scores)},
    )


def test_compare_results_rows_and_holm():
    rng = np.random.default_rng(0)
    ids = [f"q{i}" for i in range(60)]
    base = {q: float(rng.random()) for q in ids}
    better = {q: min(1.0, v + 0.3) for q, v in base.items()}
    same = dict(base)
    subsets = {"long": {"size": 20, "queries": {q: "why" for q in ids[:20]}},
               "group:x": {"size": 60, "queries": {q: "group" for q in ids}}}  # = "all": no extra row
    rows = compare_results(
        [_result("a", base, subsets), _result("b", better), _result("c", same)], n_resamples=500
    )
    assert [(r.system, r.setting) for r in rows] == [
        ("b", "all"),
        ("b", "subset:long"),
        ("c", "all"),
        ("c", "subset:long"),
    ]
    b_all, b_long, c_all, _ = rows
    assert b_all.delta > 0.2 and b_all.p_value < 0.01 and b_long.n == 20
    assert c_all.delta == 0 and c_all.p_value == 1.0
    np.testing.assert_allclose([r.p_holm for r in rows], holm([r.p_value for r in rows]))
    assert "p Holm" in comparison_table(rows, "randomization")


def test_compare_aligns_on_common_queries_and_checks_task():
    a = _result("a", {"q1": 0.1, "q2": 0.2, "q3": 0.3})
    b = _result("b", {"q2": 0.5, "q3": 0.6, "q4": 0.9})
    (row,) = compare_results([a, b], n_resamples=100)
    assert row.n == 2 and row.delta == pytest.approx(0.3)
    other = _result("c", {"q1": 0.0})
    other.task = "beir/nfcorpus"
    with pytest.raises(ValueError, match="different tasks"):
        compare_results([a, other])
    with pytest.raises(ValueError, match="at least two"):
        compare_results([a])


def test_summarize_marks_subsamples():
    r = _result("bm25", {"q1": 1.0})
    r.data["subsampled"] = True
    r.config = {"max_queries": 1, "seed": 3}
    text = summarize(r)
    assert "SUBSAMPLE: max_queries=1, seed=3" in text and "nDCG@10" in text
