"""End to end: evaluate() on tiny LAReQA, BEIR and MIRACL folders written here, with the tiny model
and BM25; and the CLI (evaluate -> JSON -> compare, subsets)."""

from __future__ import annotations

import json

import pytest

from polyret.evaluation.evaluator import BM25, EvalConfig, evaluate
from polyret.evaluation.results import EvalResult

WORDS = "paris france berlin germany madrid spain capital city river water blue sky green tree".split()


def _lareqa_file(path, lang: str, tag: str) -> None:
    paragraphs = []
    for i, (city, country) in enumerate([("paris", "france"), ("berlin", "germany"), ("madrid", "spain")]):
        s1, s2 = f"{city} is the capital city of {country} {tag}.", f"the river water is blue {tag}."
        context = f"{s1} {s2}"
        paragraphs.append(
            {
                "context": context,
                "sentences": [s1, s2],
                "sentence_breaks": [[0, len(s1)], [len(s1) + 1, len(context)]],
                "qas": [
                    {
                        "id": f"q{i}",
                        "question": f"what is the capital of {country}",
                        "answers": [{"text": city, "answer_start": 0}],
                    }
                ],
            }
        )
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": paragraphs}]}), encoding="utf-8")


@pytest.fixture
def lareqa_dir(tmp_path):
    folder = tmp_path / "mini-lareqa"
    folder.mkdir()
    _lareqa_file(folder / "en.json", "en", "en")
    _lareqa_file(folder / "de.json", "de", "de")
    return folder


@pytest.fixture
def beir_dir(tmp_path):
    folder = tmp_path / "arguana"  # the folder name selects the dataset group
    (folder / "qrels").mkdir(parents=True)
    docs = {
        "d1": "paris is the capital of france",
        "d2": "berlin is the capital of germany",
        "d3": "madrid river water",
        "q1": "capital of france paris",
    }  # q1: a self-hit
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": k, "title": "", "text": v}) + "\n" for k, v in docs.items())
    )
    queries = {"q1": "capital of france paris", "q2": "capital of germany", "q3": "blue sky tree"}
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in queries.items())
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td3\t1\n"
    )
    return folder


def test_lareqa_folder_with_tiny_model(lareqa_dir):
    from polyret.testing.tiny import tiny_bi_encoder

    model = tiny_bi_encoder(WORDS + ["what", "is", "the", "of", "en", "de"], seed=0)
    result = evaluate(model, EvalConfig(task=f"lareqa/{lareqa_dir}", batch_size=4))
    assert result.task == "lareqa/mini-lareqa"
    assert set(result.metrics) == {"mono", "cross", "multi", "bias"}
    assert len(result.per_query["multi"]["mAP"]) == 6
    assert set(result.pairs["metrics"]["mAP"]) == {"de", "en"}
    assert result.data["candidates"] == {"de": 6, "en": 6}
    assert 0.0 <= result.metrics["multi"]["mAP"] <= 1.0
    sub = evaluate(model, EvalConfig(task=f"lareqa/{lareqa_dir}", max_queries=2, seed=1, languages=["en"]))
    assert len(sub.per_query["mono"]["mAP"]) == 2 and sub.data["subsampled"]
    assert sub.data["candidates"] == {"en": 6}  # the pool stays whole


def test_beir_folder_bm25_and_dense(beir_dir, tiny_model):
    r = evaluate(BM25, EvalConfig(task=f"beir/{beir_dir}"))
    assert r.extra["run_rules"]["self_hits_removed"] == 1
    assert r.per_query["all"]["nDCG@10"]["q1"] == 1.0  # d1 first once q1's own document is removed
    assert r.per_query["all"]["nDCG@10"]["q3"] == 0.0  # no BM25 hit: filled with 0
    assert set(r.per_query["all"]) == {"nDCG@10", "R@100", "AP@100", "RR@10"}
    assert r.subsets["group:argument-retrieval"]["size"] == 3
    assert set(r.subsets["bm25-failure"]["queries"]) == {"q3"}
    kept = evaluate(BM25, EvalConfig(task=f"beir/{beir_dir}", drop_self_hits=False))
    assert kept.per_query["all"]["nDCG@10"]["q1"] < 1.0 and "self_hits_removed" not in kept.extra["run_rules"]
    dense = evaluate(tiny_model, EvalConfig(task=f"beir/{beir_dir}", batch_size=2))
    assert set(dense.per_query["all"]["nDCG@10"]) == {"q1", "q2", "q3"}
    assert dense.extra["run_rules"]["self_hits_removed"] == 1  # a dense model ranks every document


def test_miracl_with_written_corpus(tmp_path):
    import pytrec_eval

    root = tmp_path / "data"
    (root / "miracl" / "topics").mkdir(parents=True)
    (root / "miracl" / "qrels").mkdir(parents=True)
    (root / "miracl" / "topics" / "topics.miracl-v1.0-sw-dev.tsv").write_text(
        "6\tBandari kubwa nchini Kenya iko wapi?\n8\tJe, mji mkuu Australia ni gani?\n12\tpinokyo hadithi\n"
    )
    (root / "miracl" / "qrels" / "qrels.miracl-v1.0-sw-dev.tsv").write_text(
        "6\tQ0\t1#0\t1\n6\tQ0\t2#0\t0\n8\tQ0\t3#1\t1\n12\tQ0\t4#0\t1\n"
    )
    (root / "miracl" / "topics" / "topics.miracl-v1.0-sw-train.tsv").write_text("1\tswali\n")  # the catalog
    (root / "miracl" / "qrels" / "qrels.miracl-v1.0-sw-train.tsv").write_text("1\tQ0\t1#0\t1\n")  # wants both
    corpus = tmp_path / "docs-sw.jsonl"
    docs = [
        ("1#0", "Mombasa", "Mombasa ni bandari kubwa nchini Kenya"),
        ("2#0", "Kenya", "Kenya ni nchi"),
        ("3#1", "Canberra", "Canberra ni mji mkuu wa Australia"),
        ("4#0", "Maji", "maji ni bluu"),
    ]
    corpus.write_text("".join(json.dumps({"docid": d, "title": t, "text": x}) + "\n" for d, t, x in docs))
    r = evaluate(BM25, EvalConfig(task="miracl/sw", data_dir=str(root), corpus=str(corpus)))
    assert r.config["split"] == "test" and r.data["split"] == "dev"
    assert set(r.metrics["all"]) == {"nDCG@10", "R@100"}
    # -c: query 12 has no BM25 hit (no shared term) and still counts, with 0
    assert r.per_query["all"]["nDCG@10"]["12"] == 0.0 and len(r.per_query["all"]["nDCG@10"]) == 3
    from polyret.data.miracl import load_miracl
    from polyret.retrieval.bm25 import bm25_search

    data = load_miracl("sw", data_dir=root, corpus=corpus)
    run = bm25_search(data.corpus, data.queries, top_k=100, language="sw")
    ref = pytrec_eval.RelevanceEvaluator(data.qrels, {"ndcg_cut.10"}).evaluate(run)
    assert r.metrics["all"]["nDCG@10"] == pytest.approx(sum(v["ndcg_cut_10"] for v in ref.values()) / 3)


def test_cli_evaluate_compare_subsets(beir_dir, tmp_path, tiny_model, capsys):
    from polyret.cli import main

    model_dir = tmp_path / "tiny-model"
    tiny_model.save(model_dir)
    a, b = tmp_path / "bm25.json", tmp_path / "tiny.json"
    assert main(["evaluate", "--model", "bm25", "--task", f"beir/{beir_dir}", "--output", str(a)]) == 0
    out = capsys.readouterr().out
    assert "nDCG@10" in out and "self-hits removed (query id == doc id): 1" in out
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(model_dir),
                "--task",
                f"beir/{beir_dir}",
                "-o",
                str(b),
                "--batch-size",
                "2",
            ]
        )
        == 0
    )
    assert EvalResult.load(b).model["kind"] == "dense"
    capsys.readouterr()
    assert main(["compare", str(a), str(b), "--resamples", "200", "--metric", "nDCG@10"]) == 0
    out = capsys.readouterr().out
    assert "p Holm" in out and "subset:bm25-failure" in out
    assert main(["subsets", "--task", f"beir/{beir_dir}", "--examples", "1"]) == 0
    assert "group:argument-retrieval: 3 queries" in capsys.readouterr().out


@pytest.mark.slow
def test_bright_exclusions_on_real_topics(shared_data, tmp_path):
    """Real BRIGHT leetcode topics/qrels/exclusions with a small documents folder written here: the
    gold documents of three queries, and for query 0 an excluded document that repeats its text."""
    from polyret.data.bright import load_bright

    data = load_bright("leetcode", shared_data)
    docs = tmp_path / "docs"
    (docs / "leetcode").mkdir(parents=True)
    chosen = sorted(data.qrels, key=int)[:3]
    for q in chosen:
        for d in data.qrels[q]:
            (docs / d).write_text(f"solution for: {data.queries[q].text}", encoding="utf-8")
    excluded = sorted(data.excluded["0"])[0]
    (docs / excluded).write_text(data.queries["0"].text * 3, encoding="utf-8")
    with pytest.warns(UserWarning):  # judgements of absent documents are dropped, with a warning
        r = evaluate(BM25, EvalConfig(task="bright/leetcode", data_dir=str(shared_data), corpus=str(docs)))
    assert r.extra["run_rules"]["excluded_removed"] >= 1
    assert set(r.per_query["all"]["nDCG@10"]) == set(chosen)
    assert r.per_query["all"]["R@100"]["0"] == 1.0
    assert r.subsets["reasoning"]["size"] == 3
