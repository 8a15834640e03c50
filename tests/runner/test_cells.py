"""Cells: stable ids keyed by the resolved config; shards are disjoint and cover the grid."""

from __future__ import annotations

import pytest
from test_spec import minimal  # a sibling module: pytest puts this folder on sys.path

from polyret.errors import UserError
from polyret.experiment.spec import spec_from_dict
from polyret.runner.cells import parse_shard, plan_cells, shard_cells


def test_cell_ids_are_stable_and_follow_the_config():
    a = plan_cells(spec_from_dict(minimal(), "x.yaml"))
    b = plan_cells(spec_from_dict(minimal(), "y.yaml"))
    assert [c.cell_id for c in a] == [c.cell_id for c in b]
    assert [c.arm for c in a] == ["bm25", "cross", "hybrid", "cross", "hybrid"]  # references, seed-major
    changed = plan_cells(spec_from_dict(minimal(training={"train": {"lr": 1e-4}}), "x.yaml"))
    assert {c.cell_id for c in changed if c.kind == "trained"}.isdisjoint({c.cell_id for c in a})
    assert [c.cell_id for c in changed if c.kind == "reference"] == [a[0].cell_id]


def test_data_dir_does_not_change_a_cell():
    a = plan_cells(spec_from_dict(minimal(), "x.yaml"))
    b = plan_cells(spec_from_dict(minimal(training={"data": {"data_dir": "/elsewhere"}}), "x.yaml"))
    assert [c.cell_id for c in a] == [c.cell_id for c in b]


def test_arms_with_equal_training_are_still_distinct_cells():
    raw = minimal(arms={"hybrid": {"strategy": "cross"}, "cross": {"strategy": "cross"}})
    ids = [c.cell_id for c in plan_cells(spec_from_dict(raw, "x.yaml"))]
    assert len(set(ids)) == 5  # the arm name is part of the id


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_shards_partition_the_grid(n):
    cells = plan_cells(spec_from_dict(minimal(seeds=[1, 2, 3]), "x.yaml"))
    parts = [shard_cells(cells, (k, n)) for k in range(1, n + 1)]
    flat = [c.cell_id for p in parts for c in p]
    assert sorted(flat) == sorted(c.cell_id for c in cells) and len(flat) == len(set(flat))


@pytest.mark.parametrize("text", ["0/2", "3/2", "a/b", "2", "1/0"])
def test_bad_shard(text):
    with pytest.raises(UserError, match="--shard"):
        parse_shard(text)
    assert parse_shard("2/4") == (2, 4) and parse_shard(None) == (1, 1)


def test_count_suite_counts_every_text_of_the_real_data():
    """The plan's workload: every query and candidate / document, tokens after truncation."""
    from pathlib import Path

    from polyret.experiment.spec import Suite
    from polyret.runner.estimate import count_suite

    data = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    if not (data / "beir" / "scifact").is_dir():
        pytest.skip("needs ../shared/data")

    def tokenizer(texts, add_special_tokens, truncation, max_length):  # one token per word, capped
        return {"input_ids": [list(range(min(len(t.split()), max_length))) for t in texts]}

    beir = count_suite(Suite("beir/scifact", max_query_length=8, max_passage_length=16), tokenizer, str(data))
    assert beir.texts == 300 + 5183 and beir.tokens <= 300 * 8 + 5183 * 16
    from polyret.data.load import load_dataset

    pool = len(load_dataset("xquad-r", str(data), languages=["en", "de"]).candidates)
    lareqa = count_suite(Suite("xquad-r", languages=["en", "de"], max_passage_length=4), tokenizer, str(data))
    assert pool > 2000 and lareqa.texts == 2 * 1190 + pool
    assert lareqa.tokens <= 2 * 1190 * 128 + pool * 4
