"""BIRCO: every query ranks only its own pool; linear-gain graded nDCG@10; the real task folders."""

from __future__ import annotations

import json
import math

import pytest

from polyret.evaluation.config import EvalConfig
from polyret.evaluation.evaluator import evaluate, evaluate_keeping_run
from polyret.evaluation.metrics import per_query
from polyret.evaluation.registry import parse_task
from polyret.retrieval.retriever import BM25

BIRCO = ("arguana", "clinical-trial", "relic", "wtb")


def write_birco(folder, corpus, queries, qrels):
    """A BIRCO-layout folder (BEIR files; the qrels name each query's pool)."""
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": d, "title": "", "text": t}) + "\n" for d, t in corpus.items()))
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in queries.items()))
    rows = [f"{q}\t{d}\t{r}" for q, docs in qrels.items() for d, r in docs.items()]
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(rows) + "\n")
    return folder


@pytest.fixture
def pooled(tmp_path):
    """Two queries whose best lexical match lies outside their pool."""
    corpus = {"in1": "apples grow on trees", "in2": "bananas are yellow", "out": "red apples apples apples",
              "in3": "the stock market fell",
              "in4": "long pieces on the apples market, pears, plums and grapes sold in town"}
    queries = {"qa": "apples", "qb": "market"}
    qrels = {"qa": {"in1": 1, "in2": 0}, "qb": {"in3": 2, "in4": 0}}
    return write_birco(tmp_path / "mine", corpus, queries, qrels)


def test_a_document_outside_the_pool_is_never_ranked(pooled):
    config = EvalConfig(task=f"birco/{pooled}", subsets=False, cache=False)
    result, run = evaluate_keeping_run(BM25, config)
    assert {q: set(docs) for q, docs in run.items()} == {"qa": {"in1", "in2"}, "qb": {"in3", "in4"}}
    # without the pool rule "out" (3x apples) and "in4" would outrank qa's relevant in1
    assert result.per_query["all"]["nDCG@10"] == {"qa": 1.0, "qb": 1.0}
    rules = result.extra["run_rules"]
    assert rules["pool_appended"] == 1  # in2 shares no term with "apples": BM25 does not return it
    assert rules["outside_pool_removed"] == 2  # qa: "out" and "in4" (both say apples)
    assert result.task == "birco/mine" and result.data["pool_size_range"] == [2, 2]
    assert set(result.metrics["all"]) == {"nDCG@10", "AP", "RR@10", "R@5", "R@10"}
    assert result.config["max_query_length"] == 512 and result.config["max_passage_length"] == 512


def test_restrict_to_pools_appends_missing_pool_documents_last():
    from polyret.evaluation.birco_task import restrict_to_pools

    run = {"q": {"x": 9.0, "a": 2.0}, "stray": {"a": 1.0}}
    kept, counts = restrict_to_pools(run, {"q": ["a", "b"]})
    assert list(kept) == ["q"] and kept["q"]["a"] == 2.0 and kept["q"]["b"] < 2.0
    assert counts == {"outside_pool_removed": 2, "pool_appended": 1}


def test_dense_model_ranks_only_the_pool(pooled, tiny_model):
    config = EvalConfig(task=f"birco/{pooled}", subsets=False, cache=False, max_query_length=16,
                        max_passage_length=16)
    result, run = evaluate_keeping_run(tiny_model, config)
    assert {q: set(docs) for q, docs in run.items()} == {"qa": {"in1", "in2"}, "qb": {"in3", "in4"}}
    assert result.config["max_query_length"] == 16  # the evaluation's own lengths win


def test_graded_ndcg10_is_trec_eval_linear_gain():
    """Hand-worked: grades a=2, b=1, c=0 ranked c, a, b.
    DCG = 0/log2(2) + 2/log2(3) + 1/log2(4) = 1.76186; IDCG = 2/log2(2) + 1/log2(3) = 2.63093."""
    qrels = {"q": {"a": 2, "b": 1, "c": 0}}
    run = {"q": {"c": 3.0, "a": 2.0, "b": 1.0}}
    dcg = 2 / math.log2(3) + 1 / math.log2(4)
    idcg = 2 + 1 / math.log2(3)
    got = per_query(qrels, run, ["nDCG@10"])["nDCG@10"]["q"]
    assert got == pytest.approx(dcg / idcg, abs=1e-9) and got == pytest.approx(0.669672, abs=1e-6)
    exponential = (3 / math.log2(3) + 1 / 2) / (3 + 1 / math.log2(3))
    assert abs(got - exponential) > 0.01  # not the exponential-gain variant


def test_unknown_task_names_list_the_registered_ones():
    from polyret.errors import UserError

    with pytest.raises(UserError) as err:
        parse_task("bierco/wtb")
    assert "did you mean 'birco/wtb'" in str(err.value)
    for form in ("xquad-r", "beir/NAME_OR_FOLDER", "miracl/LANG", "bright/NAME", "birco/"):
        assert form in str(err.value)
    with pytest.raises(UserError, match="did you mean 'birco/relic'"):
        parse_task("birco/relik")


@pytest.mark.parametrize("name", BIRCO)
def test_real_birco_pools_are_the_judged_documents(shared_data, name):
    from polyret.data.birco import birco_folder, load_birco

    data = load_birco(birco_folder(name, shared_data))
    assert set(data.pools) == set(data.qrels) and data.skipped_qrels == 0
    assert all(set(data.pools[q]) == set(data.qrels[q]) for q in data.qrels)
    sizes = {len(p) for p in data.pools.values()}
    if name == "clinical-trial":
        assert min(sizes) == 40 and max(sizes) == 153 and len(data.qrels) == 50
        assert {r for docs in data.qrels.values() for r in docs.values()} == {0, 1, 2}
    else:
        assert sizes <= {50, 51} and len(data.qrels) == 100  # a few pools hold 51


def test_real_birco_wtb_with_bm25(shared_data):
    config = EvalConfig(task="birco/wtb", data_dir=str(shared_data), cache=False)
    result, run = evaluate_keeping_run(BM25, config)
    from polyret.data.birco import birco_folder, load_birco

    pools = load_birco(birco_folder("wtb", shared_data)).pools
    assert len(run) == 100 and all(set(run[q]) == set(pools[q]) for q in run)
    assert result.data["queries"] == 100 and 0.0 < result.metrics["all"]["nDCG@10"] < 1.0
    assert evaluate(BM25, config).per_query == result.per_query  # deterministic
