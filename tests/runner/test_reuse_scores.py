"""``--reuse-from`` refuses a source result with a non-finite per-query score (names file and query)
and passes over a source cell whose record is damaged."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pytest

from polyret.errors import UserError
from polyret.experiment.layout import CellRecord, ExperimentLayout
from polyret.runner.cells import CellPlan
from polyret.runner.reuse import check_scores, find_source


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), "0.5"])
def test_non_finite_or_non_numeric_scores_are_an_error(tmp_path: Path, bad):
    path = tmp_path / "beir-scifact.json.gz"
    result = {"per_query": {"all": {"nDCG@10": {"q1": 0.5, "q2": bad}}}}
    path.write_bytes(gzip.compress(json.dumps(result).encode()))
    stored = json.loads(gzip.decompress(path.read_bytes()))
    with pytest.raises(UserError, match=r"beir-scifact\.json\.gz: per_query\.all\.nDCG@10: query 'q2'"):
        check_scores(stored["per_query"], path)


def test_finite_scores_pass(tmp_path: Path):
    check_scores({"all": {"nDCG@10": {"q1": 0.5, "q2": 1}}}, tmp_path / "r.json")


def _source(root: Path, config: dict) -> ExperimentLayout:
    layout = ExperimentLayout(root)
    layout.write_cell(CellRecord("hybrid-s1-a3463ec1", "hybrid", "trained", 1, "hybrid", 0.5,
                                 status="done", config=config, weights="sha256:abc"))
    return layout


def test_a_damaged_source_cell_is_passed_over_with_a_warning(tmp_path: Path, caplog):
    config = {"train": {"seed": 1}}
    damaged = _source(tmp_path / "damaged", config)
    damaged.cell_file("hybrid-s1-a3463ec1").write_text('{"cell_id": "hybrid-s1-a3', encoding="utf-8")
    good = _source(tmp_path / "good", config)
    cell = CellPlan("alpha-0.50-s1-a3463ec1", "alpha-0.50", "trained", 1, "hybrid", 0.5, config=config)
    with caplog.at_level(logging.WARNING, logger="polyret.runner.reuse"):
        layout, record = find_source(cell, [damaged.root, good.root])
    assert layout.root == good.root and record.weights == "sha256:abc"
    assert len(caplog.records) == 1 and "damaged" in caplog.records[0].getMessage()
    assert find_source(cell, [damaged.root]) is None
