"""The experiment runner end to end on a tiny grid: resumable, shardable, nothing recomputed, kill-safe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from grid_builders import tiny_training

from polyret.experiment.layout import ExperimentLayout
from polyret.experiment.spec import load_spec
from polyret.runner.execute import RunOptions, run_experiment
from polyret.runner.prereg import write_preregistration

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (DATA / "beir" / "nfcorpus").is_dir(), reason="needs ../shared/data"),
]


def tiny_config(folder: Path, steps: int = 6) -> Path:
    """A two-arm, one-seed grid of the tiny random model; BM25 reference; XQuAD-R slice + NFCorpus."""
    raw = {
        "name": "tiny-grid",
        "demo": True,
        "demo_note": "test grid",
        "base_model": "tiny",
        "seeds": [1],
        "keep_models": False,
        "training": tiny_training(steps),
        "arms": {"cross": {"strategy": "cross"}, "hybrid": {"strategy": "hybrid", "alpha": 0.5}},
        "references": ["bm25"],
        "evaluation": {"precision": "fp32", "suites": [
            {"task": "xquad-r", "languages": ["en", "de"], "max_queries": 8, "max_query_length": 24,
             "max_passage_length": 48},
            {"task": "beir/nfcorpus", "max_queries": 40, "max_query_length": 24, "max_passage_length": 48},
        ]},
        "preregistration": {"file": str(folder / "prereg.json"), "subsets": ["long", "multi-part"],
                            "permutations": 200, "bootstrap": 200,
                            "comparisons": [{"a": "hybrid", "b": "cross", "primary": True}]},
    }
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    write_preregistration(load_spec(path), data_dir=str(DATA))
    return path


def numbers(out: Path) -> dict[str, dict]:
    """Every result's metrics and per-query scores, by cell and suite (timings left out)."""
    layout = ExperimentLayout(out)
    return {f"{c}/{slug}": {"metrics": r.metrics, "per_query": r.per_query}
            for c in layout.cell_ids() for slug, r in layout.results(c).items()}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("grid")
    config = tiny_config(folder)
    out = folder / "out"
    summary = run_experiment(load_spec(config), out, RunOptions(data_dir=str(DATA), progress=False))
    assert summary.cells_total == 3 and len(summary.cells_done) == 3
    return config, out


def test_grid_writes_cells_results_manifest_and_report(uninterrupted):
    _, out = uninterrupted
    layout = ExperimentLayout(out)
    records = {r.arm: r for r in layout.cells()}
    assert set(records) == {"bm25", "cross", "hybrid"} and all(r.status == "done" for r in records.values())
    assert set(layout.results(records["bm25"].cell_id)) == {"beir-nfcorpus"}  # BM25: run-based tasks only
    for arm in ("cross", "hybrid"):
        cell = records[arm]
        assert set(layout.results(cell.cell_id)) == {"xquad-r", "beir-nfcorpus"}
        train = layout.train_dir(cell.cell_id)
        assert (train / "metrics.jsonl").is_file() and (train / "train_summary.json").is_file()
        assert not list(train.glob("*.safetensors")) and not (train / "checkpoints").exists()  # keep_models
        assert cell.train_summary["steps"] == 6 and cell.timings["train_s"] > 0
        result = layout.results(cell.cell_id)["beir-nfcorpus"]
        assert result.experiment["suite"]["max_query_length"] == 24
    manifest = json.loads(layout.manifest_file.read_text(encoding="utf-8"))
    assert set(manifest["cells"]) == set(layout.cell_ids()) and manifest["machine"]["cpu_model"]
    assert manifest["versions"]["torch"] and manifest["data_fingerprints"]
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    assert not list(out.rglob(".tmp-*"))


def test_rerun_recomputes_nothing(uninterrupted):
    config, out = uninterrupted
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.json.gz")}
    summary = run_experiment(load_spec(config), out, RunOptions(data_dir=str(DATA), progress=False,
                                                                report=False))
    assert summary.cells_done == [] and len(summary.cells_skipped) == 3
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.json.gz")} == before


def test_shards_merge_into_the_same_results(uninterrupted, tmp_path):
    config, out = uninterrupted
    merged = tmp_path / "sharded"
    for k in (1, 2):
        run_experiment(load_spec(config), merged, RunOptions(data_dir=str(DATA), shard=(k, 2), progress=False,
                                                             report=False))
    assert numbers(merged) == numbers(out)


def _cli(config: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "polyret", "experiment", "run", str(config), "--out", str(out),
           "--data-dir", str(DATA)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)


def test_sigkill_mid_grid_then_rerun_gives_identical_results(uninterrupted, tmp_path):
    config, out = uninterrupted
    killed = tmp_path / "killed"
    proc = _cli(config, killed)
    deadline = time.monotonic() + 240
    # kill once the second trained cell has written a resumable checkpoint: mid-training, mid-grid
    while time.monotonic() < deadline and proc.poll() is None:
        steps = sorted(killed.glob("cells/hybrid-*/train/checkpoints/step-*"))
        if steps:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    rerun = _cli(config, killed)
    _, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err.decode()[-2000:]
    assert numbers(killed) == numbers(out)
    hybrid = next(r for r in ExperimentLayout(killed).cells() if r.arm == "hybrid")
    assert hybrid.train_summary.get("resumed_from")  # training continued from its checkpoint


def _sweep_config(config: Path, folder: Path, nfcorpus_queries: int = 40) -> Path:
    """The tiny grid as a second experiment: one arm named differently that trains exactly like the
    grid's ``hybrid`` (same config hash), BM25 reference; NFCorpus with ``nfcorpus_queries``."""
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["name"] = "tiny-sweep"
    raw["arms"] = {"alpha-0.50": {"strategy": "hybrid", "alpha": 0.5}}
    raw["evaluation"]["suites"][1]["max_queries"] = nfcorpus_queries
    raw["preregistration"]["comparisons"] = []
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_reuse_from_copies_identical_cells_without_computing(uninterrupted, tmp_path):
    config, out = uninterrupted
    sweep = tmp_path / "sweep"
    summary = run_experiment(load_spec(_sweep_config(config, tmp_path)), sweep,
                             RunOptions(data_dir=str(DATA), progress=False, reuse_from=(out,)))
    assert summary.cells_done == [] and len(summary.cells_skipped) == 2  # nothing trained or evaluated
    source, copy = ExperimentLayout(out), ExperimentLayout(sweep)
    hybrid = next(r for r in source.cells() if r.arm == "hybrid")
    alpha = next(r for r in copy.cells() if r.arm == "alpha-0.50")
    assert alpha.cell_id.rsplit("-", 1)[1] == hybrid.cell_id.rsplit("-", 1)[1]
    assert alpha.reused_from["cell_id"] == hybrid.cell_id and alpha.status == "done"
    assert alpha.train_summary == hybrid.train_summary
    for slug, result in copy.results(alpha.cell_id).items():
        original = source.results(hybrid.cell_id)[slug]
        assert result.metrics == original.metrics and result.per_query == original.per_query
        assert (result.experiment["cell_id"], result.experiment["arm"]) == (alpha.cell_id, "alpha-0.50")
    assert (sweep / "report.md").is_file()


def test_reuse_from_skips_results_of_other_suite_settings(uninterrupted, tmp_path):
    config, out = uninterrupted
    sweep = tmp_path / "sweep"
    summary = run_experiment(load_spec(_sweep_config(config, tmp_path, nfcorpus_queries=30)), sweep,
                             RunOptions(data_dir=str(DATA), progress=False, report=False, reuse_from=(out,)))
    copy = ExperimentLayout(sweep)
    alpha = next(r for r in copy.cells() if r.arm == "alpha-0.50")
    assert alpha.reused_from["results"] == ["xquad-r"]  # NFCorpus settings differ: evaluated here
    assert alpha.cell_id in summary.cells_done and alpha.status == "done"
    nfcorpus = copy.results(alpha.cell_id)["beir-nfcorpus"]
    assert nfcorpus.experiment["suite"]["max_queries"] == 30
    assert "reused_from" not in nfcorpus.experiment
    # the weights had been deleted (keep_models: false): the cell was trained again, to the same model
    hybrid = next(r for r in ExperimentLayout(out).cells() if r.arm == "hybrid")
    assert copy.results(alpha.cell_id)["xquad-r"].metrics == ExperimentLayout(out).results(
        hybrid.cell_id)["xquad-r"].metrics
    assert alpha.train_summary["steps"] == hybrid.train_summary["steps"]
