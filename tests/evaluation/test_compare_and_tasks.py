"""Task names, comparability checks, result comparison (paired tests, Holm per stated family),
summary rendering."""

from __future__ import annotations

import numpy as np
import pytest

from polyret.cli.compare import format_rows
from polyret.errors import UserError
from polyret.evaluation.compare import check_comparable, compare_results, family_summary
from polyret.evaluation.registry import parse_task
from polyret.evaluation.report import summarize
from polyret.evaluation.results import EvalResult
from polyret.stats.resampling import holm


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


SETTINGS = {"max_query_length": 512, "max_passage_length": 512,
            "precision": {"requested": "fp32", "used": "fp32"}}


def _result(name: str, scores: dict[str, float], subsets=None, r100=None) -> EvalResult:
    per_query = {"nDCG@10": scores} if r100 is None else {"nDCG@10": scores, "R@100": r100}
    return EvalResult(
        task="beir/scifact",
        model={"name": name, "kind": "dense"},
        config={"drop_self_hits": True, "split": "test", "top_k": 100, "max_queries": None, "seed": 0},
        metrics={"all": {"nDCG@10": float(np.mean(list(scores.values())))}},
        per_query={"all": per_query},
        subsets=subsets or {},
        data={"queries": len(scores), "files": {"/data/scifact/qrels/test.tsv": {"sha256": "abc123"}}},
        settings=dict(SETTINGS),
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
        [_result("a", base, subsets), _result("b", better), _result("c", same)], bootstrap=500
    )
    assert [(r.comparison, r.subset) for r in rows] == [
        ("b - a", "all"),
        ("b - a", "subset:long"),
        ("c - a", "all"),
        ("c - a", "subset:long"),
    ]
    b_all, b_long, c_all, _ = rows
    # treatment - reference: the later file minus the baseline
    assert b_all.diff > 0.2 and b_all.mean_a > b_all.mean_b and b_all.p < 0.01 and b_long.n == 20
    assert c_all.diff == 0 and c_all.p == 1.0 and c_all.q_p == 1.0
    np.testing.assert_allclose([r.p_holm for r in rows], holm([r.p for r in rows]))
    assert "p Holm" in format_rows(rows)


def test_compare_refuses_different_queries_unless_forced():
    a = _result("a", {"q1": 0.1, "q2": 0.2, "q3": 0.3})
    b = _result("b", {"q2": 0.5, "q3": 0.6, "q4": 0.9})
    with pytest.raises(UserError, match="not comparable: evaluated queries: 3 \\(all\\) in #0 \\(a\\)"):
        compare_results([a, b], bootstrap=100)
    (row,) = compare_results([a, b], bootstrap=100, force=True)  # aligned on the common queries
    assert row.n == 2 and row.diff == pytest.approx(0.3)
    other = _result("c", {"q1": 0.0, "q2": 0.0, "q3": 0.0})
    other.task = "beir/nfcorpus"
    with pytest.raises(UserError, match="task: beir/scifact in #0 \\(a\\) vs beir/nfcorpus in #1 \\(c\\)"):
        compare_results([a, other])
    with pytest.raises(UserError, match="at least two"):
        compare_results([a])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.settings.update(max_query_length=64), "max_query_length: 512 in #0 (a) vs 64 in #1"),
        (lambda r: r.settings.update(max_passage_length=256), "max_passage_length: 512 in #0 (a) vs 256"),
        (lambda r: r.settings.update(precision={"used": "bf16"}), "precision: fp32 in #0 (a) vs bf16"),
        (lambda r: r.config.update(drop_self_hits=False), "self-hit rule (drop_self_hits): True in #0"),
        (lambda r: r.data["files"].update({"/data/scifact/qrels/test.tsv": {"sha256": "ffff0000"}}),
         "data files (sha256): abc123 in #0 (a) vs ffff0000 in #1"),
        (lambda r: r.config.update(split="dev"), "split: test in #0 (a) vs dev"),
        (lambda r: setattr(r, "settings", {}), "max_query_length: 512 in #0 (a) vs unknown in #1"),
    ],
)
def test_check_comparable_names_each_difference(change, message):
    scores = {"q1": 0.1, "q2": 0.2}
    a, b = _result("a", scores), _result("b", dict(scores))
    assert check_comparable([a, b]) == []
    change(b)
    problems = check_comparable([a, b])
    assert any(message in p for p in problems), problems
    assert len(problems) == (3 if not b.settings else 1)  # unknown: both lengths and the precision
    with pytest.raises(UserError, match="use --force"):
        compare_results([a, b])


def test_user_folder_named_like_a_catalog_task_is_not_the_catalog_task():
    scores = {"q1": 0.1, "q2": 0.2}
    catalog, mine = _result("a", scores), _result("b", dict(scores))
    mine.data["files"] = {"/home/me/scifact/qrels/test.tsv": {"sha256": "0123abcd"}}  # same task name
    assert catalog.task == mine.task and "data files" in check_comparable([catalog, mine])[0]
    mine.data["files"] = {"/elsewhere/scifact/qrels/test.tsv": {"sha256": "abc123"}}  # same bytes, moved
    assert check_comparable([catalog, mine]) == []


def test_bm25_has_no_lengths_or_precision_to_compare():
    scores = {"q1": 0.1, "q2": 0.2}
    dense, bm25 = _result("e5", scores), _result("bm25", dict(scores))
    bm25.model, bm25.settings = {"name": "bm25", "kind": "bm25"}, {"kind": "bm25"}
    assert check_comparable([bm25, dense]) == []


def _lareqa(name: str, rng, shift: float = 0.0) -> EvalResult:
    keys = [f"{x}:{i}" for x in ("de", "en") for i in range(30)]
    col = {k: float(min(1.0, rng.random() + shift)) for k in keys}
    per_query = {s: {"AP": col, "RR": col, "R@1": col, "R@10": col} for s in ("mono", "cross", "multi")}
    per_query["bias"] = {"rank_distance": {k: float(rng.integers(0, 50)) for k in keys}}
    return EvalResult(
        task="xquad-r", model={"name": name, "kind": "dense"}, config={"candidate_text": "sentence"},
        metrics={}, per_query=per_query, data={"languages": ["de", "en"]}, settings=dict(SETTINGS),
    )


def test_lareqa_families_directions_and_no_duplicates():
    rng = np.random.default_rng(1)
    rows = compare_results([_lareqa("a", rng), _lareqa("b", rng, 0.2)], bootstrap=200)
    tested = {(r.subset, r.metric) for r in rows}
    # RR = AP in mono and cross (one relevant): tested once; multi keeps both
    assert ("mono", "RR") not in tested and ("cross", "RR") not in tested and ("multi", "RR") in tested
    assert ("mono", "AP") in tested and ("mono", "R@10") in tested
    bias = [r for r in rows if r.metric == "rank_distance"]
    assert [(r.family, r.direction) for r in bias] == [("bias", "lower")]
    assert all(r.family == "effectiveness" and r.direction == "higher" for r in rows if r not in bias)
    eff = [r for r in rows if r.family == "effectiveness"]
    np.testing.assert_allclose([r.p_holm for r in eff], holm([r.p for r in eff]))
    assert bias[0].p_holm == bias[0].p  # a family of one
    lines = family_summary(rows)
    assert lines[0].startswith(f"Holm family 'effectiveness': {len(eff)} comparisons (higher is better")
    assert "Holm family 'bias': 1 comparisons (lower is better; rank_distance)" in lines
    assert "RR in mono (= AP)" in lines[-1]
    table = format_rows(rows)
    assert "family" in table and "down" in table
    other = _lareqa("c", rng)
    other.config["candidate_text"] = "sentence+context"
    other.data["languages"] = ["de", "en", "es"]
    problems = check_comparable([_lareqa("a", rng), other])
    assert any(p.startswith("candidate text: sentence in #0") for p in problems)
    assert any(p.startswith("pool languages: ['de', 'en'] in #0") for p in problems)


def test_metric_option_applies_to_subset_rows():
    rng = np.random.default_rng(2)
    ids = [f"q{i}" for i in range(40)]
    nd = {q: float(rng.random()) for q in ids}
    r100 = {q: float(rng.random()) for q in ids}
    subsets = {"long": {"size": 10, "queries": {q: "why" for q in ids[:10]}}}
    a, b = _result("a", nd, subsets, r100), _result("b", dict(nd), None, {q: 1.0 for q in ids})
    rows = compare_results([a, b], bootstrap=100, metrics=["R@100"])
    assert [(r.subset, r.metric) for r in rows] == [("all", "R@100"), ("subset:long", "R@100")]
    assert rows[1].n == 10


def test_summarize_marks_subsamples():
    r = _result("bm25", {"q1": 1.0})
    r.data["subsampled"] = True
    r.config = {"max_queries": 1, "seed": 3}
    text = summarize(r)
    assert "SUBSAMPLE: max_queries=1, seed=3" in text and "nDCG@10" in text
