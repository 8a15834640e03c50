"""The ir_measures adapter: agreement with pytrec_eval, aligned per-query values, explicit run rules."""

from __future__ import annotations

import numpy as np
import pytest

from polyret.evaluation.metrics import (
    aggregate,
    cut_run,
    evaluated_queries,
    exclude_docs,
    per_query,
)


def _random_case(seed: int = 0, n_q: int = 30, n_d: int = 60):
    rng = np.random.default_rng(seed)
    docs = [f"d{i}" for i in range(n_d)]
    qrels = {f"q{i}": {d: int(rng.integers(0, 3)) for d in rng.choice(docs, size=5, replace=False)}
             for i in range(n_q)}
    run = {f"q{i}": {d: float(rng.random()) for d in rng.choice(docs, size=40, replace=False)}
           for i in range(n_q)}
    return qrels, run


def test_ir_measures_agrees_with_pytrec_eval_per_query():
    import pytrec_eval

    qrels, run = _random_case()
    ours = per_query(qrels, run, ["nDCG@10", "R@100", "AP@100", "RR@10"])
    trec = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100", "map_cut.100"}).evaluate(run)
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(cut_run(run, 10))
    assert set(ours["nDCG@10"]) == set(evaluated_queries(qrels))
    for q in evaluated_queries(qrels):
        assert ours["nDCG@10"][q] == pytest.approx(trec[q]["ndcg_cut_10"], abs=1e-12)
        assert ours["R@100"][q] == pytest.approx(trec[q]["recall_100"], abs=1e-12)
        assert ours["AP@100"][q] == pytest.approx(trec[q]["map_cut_100"], abs=1e-12)
        assert ours["RR@10"][q] == pytest.approx(rr[q]["recip_rank"], abs=1e-12)


def test_missing_queries_score_zero_and_unjudged_are_left_out():
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 2}, "q3": {"d3": 0}}  # q3 has no relevant document
    run = {"q1": {"d1": 2.0, "d9": 1.0}, "q4": {"d1": 1.0}}
    v = per_query(qrels, run, ["nDCG@10", "R@100"])
    assert v["nDCG@10"] == {"q1": 1.0, "q2": 0.0}
    assert aggregate(v)["nDCG@10"] == 0.5
    assert aggregate(v, ids=["q1"])["R@100"] == 1.0


def test_exclude_and_cut_in_trec_eval_order():
    run = {"q": {"d1": 1.0, "d2": 1.0, "d3": 0.5, "d4": 2.0}}
    new, removed = exclude_docs(run, {"q": ["d4"]})
    assert list(new["q"]) == ["d1", "d2", "d3"] and removed == {"q": 1} and "d4" in run["q"]
    # ties: doc id descending, as trec_eval sorts
    assert list(cut_run(run, 2)["q"]) == ["d4", "d2"]


def test_cut_matches_pytrec_eval_tie_order():
    import pytrec_eval

    qrels = {"q": {"d1": 1}}
    run = {"q": {"d1": 1.0, "d2": 1.0, "d3": 1.0}}  # all tied: trec_eval ranks d3, d2, d1
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(run)["q"]["recip_rank"]
    assert rr == pytest.approx(1 / 3)
    assert list(cut_run(run, 3)["q"]) == ["d3", "d2", "d1"]
    assert per_query(qrels, cut_run(run, 2), ["R@100"])["R@100"]["q"] == 0.0


def _score(kind, qrels, run, top_k=100, drop_self=True, excluded=None):
    """Score ``run`` with the registered family ``kind``, as production does."""
    from polyret.evaluation.config import EvalConfig
    from polyret.evaluation.ir_tasks import IrTaskData
    from polyret.evaluation.registry import family_of

    config = EvalConfig(task=f"{kind}/x", top_k=top_k, drop_self_hits=drop_self)
    data = IrTaskData("x", {}, {}, qrels, excluded=excluded or {})
    scored = family_of(kind).score(run, data, config)
    return scored.scores, scored.rules


def test_run_rules_of_each_task_as_production_applies_them():
    from polyret.evaluation.config import EvalConfig
    from polyret.evaluation.ir_tasks import IrTaskData
    from polyret.evaluation.registry import family_of

    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    # MIRACL: -M 100 (d1 at rank 101 is not read), -c (q2 unranked counts as 0)
    run = {"q1": {f"x{i:03d}": 2.0 for i in range(100)} | {"d1": 1.0}}
    scores, report = _score("miracl", qrels, run, top_k=1000)
    assert scores["R@100"] == {"q1": 0.0, "q2": 0.0} and report["depth"] == 100
    assert set(scores) == {"nDCG@10", "R@100"}
    run["q1"]["d1"] = 3.0  # now first
    assert _score("miracl", qrels, run)[0]["R@100"]["q1"] == 1.0
    assert aggregate(_score("miracl", qrels, {"q1": {"d1": 1.0}})[0])["nDCG@10"] == 0.5
    # BRIGHT: excluded documents removed before scoring, counted
    scores, report = _score("bright", qrels, {"q1": {"d9": 2.0, "d1": 1.0}}, excluded={"q1": ["d9"]})
    assert report["excluded_removed"] == 1 and scores["nDCG@10"]["q1"] == 1.0
    # BEIR: the query's own id is removed unless asked to keep it; then cut at top_k
    beir_run = {"q1": {"q1": 5.0, "d1": 1.0}}
    scores, report = _score("beir", qrels, beir_run, top_k=10)
    assert scores["RR@10"]["q1"] == 1.0 and report["self_hits_removed"] == 1
    kept, report = _score("beir", qrels, beir_run, top_k=10, drop_self=False)
    assert kept["RR@10"]["q1"] == 0.5 and "self_hits_removed" not in report
    assert set(scores) == {"nDCG@10", "R@100", "AP@100", "RR@10"}
    config = EvalConfig(task="beir/x", top_k=10)
    assert family_of("beir").depth(IrTaskData("x", {}, {}, qrels), config) == 11
    bright = IrTaskData("x", {}, {}, qrels, excluded={"q": ["a", "b"]})
    assert family_of("bright").depth(bright, config) == 12
    assert not hasattr(family_of("lareqa"), "score")  # LAReQA is not run-based


def test_one_tie_convention_for_every_measure():
    """The issue's repro: two tied documents, the relevant one has the lower id. trec_eval's order
    (doc id descending) puts d1 first, so *every* measure sees d0 at rank 2."""
    qrels, run = {"q": {"d0": 1}}, {"q": {"d0": 0.5, "d1": 0.5}}
    v = per_query(qrels, run, ["RR@10", "R@1", "nDCG@10", "AP@100", "RR"])
    assert v["RR@10"]["q"] == 0.5 and v["RR"]["q"] == 0.5  # msmarco's provider said 1.0 here
    assert v["R@1"]["q"] == 0.0 and v["AP@100"]["q"] == 0.5
    assert v["nDCG@10"]["q"] == pytest.approx(1 / np.log2(3))


def test_rr_cutoff_is_honoured():
    """pytrec_eval's recip_rank has no cutoff: RR@10 must still be 0 past rank 10."""
    run = {"q": {f"x{i:02d}": 2.0 - i / 100 for i in range(12)} | {"d0": 1.0}}  # d0 at rank 13
    v = per_query({"q": {"d0": 1}}, run, ["RR@10", "RR"])
    assert v["RR@10"]["q"] == 0.0 and v["RR"]["q"] == pytest.approx(1 / 13)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tied_run_scores_as_its_trec_order(seed):
    """With heavy ties (scores on a 3-level grid, as BM25 gives), every measure equals its value on
    the same run with ties broken explicitly in trec_eval's order (score desc, doc id desc)."""
    rng = np.random.default_rng(seed)
    docs = [f"d{i}" for i in range(40)]
    qrels = {f"q{i}": {d: int(rng.integers(1, 3)) for d in rng.choice(docs, 3, replace=False)}
             for i in range(20)}
    run = {q: {d: float(rng.integers(0, 3)) for d in rng.choice(docs, 30, replace=False)} for q in qrels}
    measures = ["nDCG@10", "R@100", "AP@100", "RR@10", "R@1", "RR@3"]
    tied = per_query(qrels, run, measures)
    untied_run = {q: {d: float(len(docs) - i) for i, d in enumerate(cut_run({q: r}, 1000)[q])}
                  for q, r in run.items()}
    untied = per_query(qrels, untied_run, measures)
    assert tied == untied
    for q, row in untied_run.items():  # and RR@3 is what the trec order says
        first = next((i for i, d in enumerate(row) if qrels[q].get(d, 0) > 0), None)
        assert tied["RR@3"][q] == (1 / (first + 1) if first is not None and first < 3 else 0.0)
