"""Fixtures of the dataset-layer tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_builders import write_lines


@pytest.fixture
def make_beir(tmp_path):
    """Write a BEIR folder: docs {id: (title, text)}, queries {id: text}, qrels rows per split."""

    def make(docs, queries, qrels: dict[str, list[str]], name="tiny", header=True) -> Path:
        folder = tmp_path / name
        write_lines(
            folder / "corpus.jsonl",
            [json.dumps({"_id": d, "title": t, "text": x}) for d, (t, x) in docs.items()],
        )
        write_lines(folder / "queries.jsonl", [json.dumps({"_id": q, "text": x}) for q, x in queries.items()])
        for split, rows in qrels.items():
            write_lines(
                folder / "qrels" / f"{split}.tsv", (["query-id\tcorpus-id\tscore"] if header else []) + rows
            )
        return folder

    return make
