"""A BIRCO task as an experiment suite: evaluated by the runner for every cell (BM25 too), reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from grid_builders import tiny_training

from polyret.evaluation.config import EvalConfig
from polyret.evaluation.registry import find_task
from polyret.experiment.layout import ExperimentLayout, read_result, write_result
from polyret.experiment.spec import load_spec
from polyret.retrieval.trec import read_run
from polyret.runner.execute import RunOptions, run_experiment
from polyret.runner.prereg import write_preregistration

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (DATA / "birco" / "wtb").is_dir(), reason="needs ../shared/data"),
]


def test_birco_suite_through_the_runner_and_report(tmp_path):
    raw = {
        "name": "tiny-birco", "demo": True, "demo_note": "test grid", "base_model": "tiny", "seeds": [1],
        "keep_models": False,
        "training": tiny_training(2, eval_every=2),
        "arms": {"cross": {"strategy": "cross"}},
        "references": ["bm25"],
        "evaluation": {"precision": "fp32", "suites": [
            {"task": "birco/wtb", "max_queries": 6, "max_query_length": 24, "max_passage_length": 48}]},
        "preregistration": {"file": str(tmp_path / "prereg.json"), "subsets": [], "permutations": 100,
                            "bootstrap": 100, "comparisons": []},
    }
    config = tmp_path / "birco.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    write_preregistration(load_spec(config), data_dir=str(DATA))  # BIRCO's query ids, before scoring
    assert len(json.loads((tmp_path / "prereg.json").read_text())["tasks"]["birco/wtb"]["query_ids"]) == 6
    summary = run_experiment(load_spec(config), out, RunOptions(data_dir=str(DATA), progress=False))
    assert len(summary.cells_done) == 2
    layout = ExperimentLayout(out)
    for cell in layout.cell_ids():
        result = layout.results(cell)["birco-wtb"]
        assert result.task == "birco/wtb" and result.data["queries"] == 6
        assert set(result.metrics["all"]) == {"nDCG@10", "AP", "RR@10", "R@5", "R@10"}
        assert result.experiment["cell_id"] == cell
        # the kept run, scored again and stored the same way, gives the stored per-query values
        kept = layout.kept_run_file(cell, "birco-wtb")
        assert result.extra["kept_run"]["file"] == kept.name
        config = EvalConfig(**{k: v for k, v in result.config.items()})
        family, spec = find_task("birco/wtb")
        again = family.score_external(read_run(kept), spec, config, str(kept))
        assert read_result(write_result(tmp_path / "again.json.gz", again)).per_query == result.per_query
    assert "birco/wtb" in (out / "report.md").read_text(encoding="utf-8")
