"""The ir_measures adapter: agreement with pytrec_eval, aligned per-query values, explicit run rules."""

from __future__ import annotations

import numpy as np
import pytest

from polyret.evaluation.metrics import (
    aggregate,
    cut_run,
    drop_self_hits,
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


def test_drop_self_hits_copies_and_counts():
    run = {"a": {"a": 9.0, "b": 1.0}, "b": {"c": 1.0}}
    new, removed = drop_self_hits(run)
    assert new == {"a": {"b": 1.0}, "b": {"c": 1.0}} and removed == {"a": 1}
    assert run["a"] == {"a": 9.0, "b": 1.0}  # the caller's run is untouched


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


def test_miracl_and_bright_helpers():
    from polyret.evaluation.bright import bright_scores
    from polyret.evaluation.miracl import miracl_means, miracl_scores

    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    run = {"q1": {f"x{i:03d}": 2.0 for i in range(100)} | {"d1": 1.0}}  # d1 at rank 101: cut by -M 100
    assert miracl_scores(qrels, run)["R@100"] == {"q1": 0.0, "q2": 0.0}
    run["q1"]["d1"] = 3.0  # now first
    assert miracl_scores(qrels, run)["R@100"]["q1"] == 1.0
    assert miracl_means(qrels, {"q1": {"d1": 1.0}})["nDCG@10"] == 0.5  # -c: q2 unranked counts as 0
    scores, removed = bright_scores(qrels, {"q1": {"d9": 2.0, "d1": 1.0}}, {"q1": ["d9"]})
    assert removed == 1 and scores["nDCG@10"]["q1"] == 1.0
