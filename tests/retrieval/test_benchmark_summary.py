"""benchmarks/_summary.py: keys merge into summary.json atomically, with the machine refreshed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SUMMARY = Path(__file__).resolve().parents[2] / "benchmarks" / "_summary.py"


@pytest.fixture
def summary_module():
    spec = importlib.util.spec_from_file_location("bench_summary", SUMMARY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_update_summary_merges_keys_and_records_the_machine(summary_module, tmp_path):
    path = tmp_path / "results" / "summary.json"
    summary_module.update_summary("encode_vs_st", {"fp32": 1.5}, path=path)
    summary_module.update_summary("search_vs_faiss_flat", 1.2, path=path)
    data = json.loads(path.read_text())
    assert data["encode_vs_st"] == {"fp32": 1.5} and data["search_vs_faiss_flat"] == 1.2
    assert data["machine"]["cpu_model"] and "torch" in data["machine"]
    assert [p.name for p in path.parent.iterdir()] == ["summary.json"]  # no temporary left
    with pytest.raises(ValueError, match="machine"):
        summary_module.update_summary("machine", {}, path=path)
    path.write_text("{broken")
    assert summary_module.update_summary("x", 1, path=path)["x"] == 1  # a damaged file is replaced
