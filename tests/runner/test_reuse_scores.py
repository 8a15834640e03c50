"""``--reuse-from`` refuses a source result with a non-finite per-query score (names file and query)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from polyret.errors import UserError
from polyret.runner.reuse import check_scores


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
