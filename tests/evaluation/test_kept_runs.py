"""Every run-based evaluation keeps its run; `polyret score` of it reproduces the stored scores exactly."""

from __future__ import annotations

import gzip
import json

import pytest
from tests.evaluation.test_evaluate_tasks import beir_dir  # noqa: F401 (fixture)

from polyret.cli import main
from polyret.evaluation.config import EvalConfig
from polyret.evaluation.evaluator import evaluate_keeping_run
from polyret.evaluation.kept_runs import keep_run, kept_run_path
from polyret.evaluation.registry import find_task
from polyret.evaluation.results import EvalResult
from polyret.retrieval.trec import read_run


def test_kept_run_path():
    assert kept_run_path("r/x.json").name == "x.run.trec.gz"
    assert kept_run_path("cells/c/results/beir-scifact.json.gz").name == "beir-scifact.run.trec.gz"


def test_cli_keeps_the_run_and_score_reproduces_it(shared_data, tmp_path, capsys):
    out = tmp_path / "bm25-wtb.json"
    argv = ["evaluate", "--model", "bm25", "--task", "birco/wtb", "--data-dir", str(shared_data)]
    assert main([*argv, "--no-cache", "--max-queries", "30", "--output", str(out)]) == 0
    kept = kept_run_path(out)
    with gzip.open(kept, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    stored = EvalResult.load(out)
    assert stored.extra["kept_run"] == {"file": kept.name, "queries": 30, "documents": len(lines)}
    again = tmp_path / "scored.json"
    assert main(["score", "--task", "birco/wtb", "--run", str(kept), "--data-dir", str(shared_data),
                 "--max-queries", "30", "--out", str(again)]) == 0
    scored = EvalResult.load(again)
    assert scored.per_query == stored.per_query and scored.metrics == stored.metrics
    assert scored.model["kind"] == "run" and scored.task == "birco/wtb"


def test_dense_beir_kept_run_reproduces_per_query_scores(beir_dir, tiny_model, tmp_path):  # noqa: F811
    config = EvalConfig(task=f"beir/{beir_dir}", batch_size=2, cache=False, subsets=False)
    result, run = evaluate_keeping_run(tiny_model, config)
    path = keep_run(run, result, tmp_path / "dense.json")
    assert all(len(docs) <= 100 for docs in read_run(path).values())
    family, spec = find_task(config.task)
    scored = family.score_external(read_run(path), spec, config, str(path))
    assert scored.per_query == result.per_query
    assert result.extra["run_rules"]["self_hits_removed"] == 1 and "q1" not in read_run(path)["q1"]


def test_score_refuses_ids_not_in_the_task(shared_data, tmp_path, capsys):
    run = tmp_path / "bad.trec"
    for bad, what in (("nope Q0 unique_1247 1 1.0 t\n", "query 'nope'"),
                      ("q_unique_11108 Q0 nodoc 1 1.0 t\n", "document 'nodoc'")):
        run.write_text(bad)
        assert main(["score", "--task", "birco/wtb", "--run", str(run), "--data-dir", str(shared_data)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(run) in err and what in err
    assert main(["score", "--task", "xquad-r", "--run", str(run)]) == 2
    assert "not a run-based task" in capsys.readouterr().err


@pytest.mark.parametrize("task", ["wtb", "clinical-trial"])
def test_published_baseline_runs_score_over_every_query(shared_data, task, tmp_path):
    """BIRCO's own E5 run ranks each pool; scored, every query of the task has a value."""
    out = tmp_path / "e5.json"
    run = shared_data / "birco" / task / "baselines" / "e5.trec"
    assert main(["score", "--task", f"birco/{task}", "--run", str(run), "--data-dir", str(shared_data),
                 "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["extra"]["run_rules"]["outside_pool_removed"] == 0
    assert result["extra"]["run_rules"]["pool_appended"] == 0  # the published run ranks whole pools
    assert result["data"]["queries"] == (50 if task == "clinical-trial" else 100)
