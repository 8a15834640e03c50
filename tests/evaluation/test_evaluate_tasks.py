"""End to end: evaluate() on tiny LAReQA, BEIR and MIRACL folders written here, with the tiny model
and BM25; and the CLI (evaluate -> JSON -> compare, subsets)."""

from __future__ import annotations

import json
import re

import pytest
import torch

from polyret.errors import ConfigError, NonFiniteError, UserError
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
    import numpy as np
    from sklearn.metrics import average_precision_score

    from polyret.data.lareqa import load_lareqa
    from polyret.evaluation.lareqa import LareqaIndex, query_key
    from polyret.modeling.tiny import tiny_bi_encoder

    model = tiny_bi_encoder(WORDS + ["what", "is", "the", "of", "en", "de"], seed=0)
    result = evaluate(model, EvalConfig(task=f"lareqa/{lareqa_dir}", batch_size=4, cache=False))
    assert result.task == "lareqa/mini-lareqa"
    assert set(result.metrics) == {"mono", "cross", "multi", "bias"}
    assert len(result.per_query["multi"]["AP"]) == 6
    assert set(result.pairs["metrics"]["AP"]) == {"de", "en"}
    assert result.data["candidates"] == {"de": 6, "en": 6} and result.data["source"] == "folder"
    # the Multi AP of every query is sklearn's on the model's own embeddings of the whole pool
    index = LareqaIndex.from_data(load_lareqa(lareqa_dir))
    q = model.encode([x.text for x in index.queries], side="query")
    c = model.encode([x.sentence for x in index.candidates], side="passage")
    for i, x in enumerate(index.queries):
        y = np.zeros(len(index.candidates))
        y[list(index.gold[x.question_id].values())] = 1
        expected = average_precision_score(y, c @ q[i])
        assert result.per_query["multi"]["AP"][query_key(x)] == pytest.approx(expected, abs=1e-6)
    multi = result.per_query["multi"]["AP"]
    expected_macro = np.mean([np.mean([v for k, v in multi.items() if k.startswith(x)])
                              for x in ("de:", "en:")])
    assert result.metrics["multi"]["AP"] == pytest.approx(expected_macro, abs=1e-12)
    from polyret.evaluation.report import summarize

    text = summarize(result)
    assert "mono mAP" in text and f"{result.metrics['multi']['AP']:.4f}" in text and "encoded with" in text
    sub = evaluate(model, EvalConfig(task=f"lareqa/{lareqa_dir}", max_queries=2, seed=1, languages=["en"]))
    assert len(sub.per_query["mono"]["AP"]) == 2 and sub.data["subsampled"]
    assert sub.data["candidates"] == {"en": 6}  # the pool stays whole


def test_lengths_and_precision_are_applied_recorded_and_restored(lareqa_dir, tiny_model):
    seen = []
    encode = tiny_model.encode

    def spy(texts, side="passage", batch_size=32, *, precision=None, **kwargs):
        seen.append((side, tiny_model.max_length(side), precision))
        return encode(texts, side=side, batch_size=batch_size, precision=precision, **kwargs)

    tiny_model.encode = spy
    before = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    old_config = tiny_model.config
    cfg = EvalConfig(task=f"lareqa/{lareqa_dir}", max_query_length=5, max_passage_length=7, precision="bf16",
                     cache=False)
    with pytest.warns(UserWarning, match="truncated"):
        r = evaluate(tiny_model, cfg)
    assert seen == [("query", 5, "bf16"), ("passage", 7, "bf16")]
    assert r.settings["max_query_length"] == 5 and r.settings["max_passage_length"] == 7
    assert r.settings["precision"]["requested"] == "bf16" and r.settings["precision"]["used"] == "bf16"
    assert r.config["max_query_length"] == 5 and r.config["precision"] == "bf16"
    # the model is as it was: its own lengths, fp32 weights bit for bit
    assert tiny_model.config == old_config
    after = tiny_model.state_dict()
    assert all(after[k].dtype == v.dtype and torch.equal(after[k], v) for k, v in before.items())
    seen.clear()
    own = evaluate(tiny_model, EvalConfig(task=f"lareqa/{lareqa_dir}", cache=False))
    own_lengths = old_config.max_query_length, old_config.max_passage_length
    assert seen == [("query", own_lengths[0], "fp32"), ("passage", own_lengths[1], "fp32")]
    assert own.settings["lengths_from"] == {"max_query_length": "model", "max_passage_length": "model"}
    for bad in ({"max_query_length": 1}, {"precision": "fp16"}, {"max_passage_length": "64"}):
        with pytest.raises(ConfigError):
            EvalConfig(task=f"lareqa/{lareqa_dir}", **bad)


def test_non_finite_embeddings_are_refused(beir_dir, tiny_model):
    with torch.no_grad():
        next(iter(tiny_model.backbone.parameters())).fill_(float("nan"))
    with pytest.raises(NonFiniteError, match="NaN"):
        evaluate(tiny_model, EvalConfig(task=f"beir/{beir_dir}", cache=False))


def test_zero_query_evaluations_fail_with_one_line(beir_dir, lareqa_dir, tmp_path, capsys):
    from polyret.cli import main

    qrels = beir_dir / "qrels" / "test.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\n")  # header only
    # the reader or the evaluator refuses it: one message naming the file (either way a UserError)
    refused = re.escape(f"{qrels}: ") + ".*(no query to evaluate|nothing to evaluate)"
    with pytest.raises(UserError, match=refused):
        evaluate(BM25, EvalConfig(task=f"beir/{beir_dir}"))
    qrels.write_text("query-id\tcorpus-id\tscore\nq1\tnope1\t1\nq2\tnope2\t1\n")  # unknown documents
    with pytest.warns(UserWarning), pytest.raises(UserError, match="all 2 judgements name documents missing"):
        evaluate(BM25, EvalConfig(task=f"beir/{beir_dir}"))
    assert main(["evaluate", "--model", "bm25", "--task", f"beir/{beir_dir}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if not line.startswith("polyret: warning:")]  # the skipped rows: 1 line
    assert len(errors) == 1 and "no query to evaluate" in errors[0] and "Traceback" not in "".join(err)
    # an empty LAReQA language: a file whose paragraphs hold no question
    (lareqa_dir / "es.json").write_text(json.dumps({"data": [{"title": "t", "paragraphs": []}]}))
    with pytest.raises(UserError, match="es.json: no questions"):
        evaluate(tiny_bi_encoder_for(WORDS), EvalConfig(task=f"lareqa/{lareqa_dir}", cache=False))


def tiny_bi_encoder_for(words):
    from polyret.modeling.tiny import tiny_bi_encoder

    return tiny_bi_encoder(words, seed=0)


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
    a, b, c = tmp_path / "bm25.json", tmp_path / "tiny.json", tmp_path / "tiny-short.json"
    assert main(["evaluate", "--model", "bm25", "--task", f"beir/{beir_dir}", "--output", str(a)]) == 0
    out = capsys.readouterr().out
    assert "nDCG@10" in out and "self-hits removed (query id == doc id): 1" in out
    dense = ["evaluate", "--model", str(model_dir), "--task", f"beir/{beir_dir}", "--batch-size", "2"]
    dense += ["--no-cache", "--precision", "fp32"]  # auto would follow the CPU kind
    assert main([*dense, "-o", str(b), "--max-query-length", "16", "--max-passage-length", "16"]) == 0
    out = capsys.readouterr().out
    assert "encoded with: max_query_length=16, max_passage_length=16, precision=fp32" in out
    assert main([*dense, "-o", str(c), "--max-query-length", "4", "--max-passage-length", "16"]) == 0
    result = EvalResult.load(b)
    assert result.model["kind"] == "dense" and result.settings["max_query_length"] == 16
    capsys.readouterr()
    assert main(["compare", str(a), str(b), "--resamples", "200", "--metric", "nDCG@10"]) == 0
    out = capsys.readouterr().out
    assert "p Holm" in out and "subset:bm25-failure" not in out  # defined by BM25: left out against BM25
    assert "Holm family 'effectiveness'" in out and "R@100" not in out  # --metric also on subset rows
    # different query lengths: refused in one line, exit 2; --force compares with a warning
    assert main(["compare", str(b), str(c), "--resamples", "50"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "max_query_length: 16 in #0" in err[0] and "vs 4 in #1" in err[0]
    rows = tmp_path / "rows.json"
    assert main(["compare", str(b), str(c), "--resamples", "50", "--force", "-o", str(rows)]) == 0
    captured = capsys.readouterr()
    assert "warning: not comparable: max_query_length" in captured.err and "p Holm" in captured.out
    saved = json.loads(rows.read_text())
    assert saved["not_comparable"] and {r["family"] for r in saved["rows"]} == {"effectiveness"}
    assert main(["subsets", "--task", f"beir/{beir_dir}", "--examples", "1"]) == 0
    assert "group:argument-retrieval" in capsys.readouterr().out


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
