"""``polyret compare`` as a researcher meets it: .json.gz, experiment folders with --arms, names with a
"did you mean", BM25's own subset left out, non-finite scores refused."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from report_builders import build_experiment

from polyret.cli import main
from polyret.evaluation.results import EvalResult


def _result(name: str, scores: dict[str, float], kind: str = "dense", subsets=None) -> dict:
    return EvalResult(
        task="beir/scifact", model={"name": name, "kind": kind},
        config={"drop_self_hits": True, "split": "test", "top_k": 100, "max_queries": None, "seed": 0},
        metrics={"all": {"nDCG@10": float(np.mean(list(scores.values())))}},
        per_query={"all": {"nDCG@10": scores}}, subsets=subsets or {},
        data={"queries": len(scores), "files": {"/d/qrels/test.tsv": {"sha256": "abc"}}},
        settings={} if kind == "bm25" else {"max_query_length": 512, "max_passage_length": 512,
                                             "precision": {"requested": "fp32", "used": "fp32"}},
    ).to_dict()


@pytest.fixture()
def files(tmp_path):
    rng = np.random.default_rng(0)
    ids = [f"q{i}" for i in range(30)]
    base = {q: float(rng.random()) for q in ids}
    subsets = {"bm25-failure": {"size": 10, "queries": {q: "zero" for q in ids[:10]}},
               "long": {"size": 12, "queries": {q: "long" for q in ids[10:22]}}}
    bm25 = tmp_path / "bm25.json.gz"
    bm25.write_bytes(gzip.compress(json.dumps(_result("bm25", base, "bm25", subsets)).encode()))
    dense = tmp_path / "e5.json"
    dense.write_text(json.dumps(_result("e5", {q: min(1.0, v + 0.2) for q, v in base.items()})), "utf-8")
    return bm25, dense, ids


def test_reads_json_gz_and_leaves_out_the_subset_bm25_defines(files, capsys):
    bm25, dense, _ = files
    out_file = bm25.parent / "rows.json"
    assert main(["compare", str(bm25), str(dense), "--output", str(out_file)]) == 0
    text = capsys.readouterr().out
    assert "subset:long" in text and "bm25-failure" not in text
    rows = json.loads(out_file.read_text())["rows"]
    assert [r["subset"] for r in rows] == ["all", "subset:long"]  # the Holm family has 2 members
    assert rows[0]["comparison"] == "e5 - bm25" and rows[0]["diff"] > 0.15


def test_unknown_metric_lists_the_valid_names_with_a_suggestion(files, capsys):
    bm25, dense, _ = files
    assert main(["compare", str(bm25), str(dense), "--metric", "ndcg@10"]) == 2
    err = capsys.readouterr().err
    assert "unknown metric 'ndcg@10' (did you mean 'nDCG@10'?); valid: nDCG@10" in err
    assert "Traceback" not in err


def test_a_nan_score_is_an_error_naming_file_and_query(files, capsys):
    bm25, dense, ids = files
    obj = json.loads(dense.read_text())
    obj["per_query"]["all"]["nDCG@10"][ids[4]] = float("nan")
    dense.write_text(json.dumps(obj), "utf-8")
    assert main(["compare", str(bm25), str(dense)]) == 2
    err = capsys.readouterr().err
    assert str(dense) in err and f"query '{ids[4]}'" in err and "not a finite number" in err


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    return build_experiment(tmp_path_factory.mktemp("exp"), effects={"hybrid": 0.08})


def test_compares_two_arms_of_an_experiment_folder_seed_aware(experiment, capsys):
    assert main(["compare", str(experiment), "--arms", "hybrid,cross", "--margin", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "hybrid - cross, seed-aware" in out and "3/3" in out
    rows = [line for line in out.splitlines() if line.startswith("hybrid - cross")]
    assert len(rows) == 3 and all(line.rstrip().endswith("*") for line in rows)
    assert all("beir/scifact" in line for line in rows)  # the task is named on every row


def test_unknown_arm_gets_a_did_you_mean(experiment, capsys):
    assert main(["compare", str(experiment), "--arms", "hybird,cross"]) == 2
    err = capsys.readouterr().err
    assert "unknown arm 'hybird' (did you mean 'hybrid'?); valid: " in err and "cross" in err
    assert main(["compare", str(experiment)]) == 2
    assert "needs --arms" in capsys.readouterr().err


def test_seeds_restrict_an_arm_comparison_to_those_training_seeds(experiment, capsys):
    assert main(["compare", str(experiment), "--arms", "hybrid,cross", "--seeds", "1,3"]) == 0
    out = capsys.readouterr().out
    assert "hybrid - cross (seeds 1, 3 only), seed-aware" in out
    rows = [line for line in out.splitlines() if line.startswith("hybrid - cross")]
    assert rows and all(" 2/2 " in line for line in rows) and " 3/3 " not in out
    assert main(["compare", str(experiment), "--arms", "hybrid,cross", "--seeds", "1,7"]) == 2
    assert "the experiment's seeds are 1, 2, 3" in capsys.readouterr().err
