"""Integration: the built-in multilingual-e5-small trains on the real data, saves, reloads, retrieves."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polyret.config import load_config
from polyret.modeling.registry import load_model
from polyret.training.trainer import train


@pytest.mark.slow
def test_e5_hybrid_steps_on_squad_parallel_save_and_reload(tmp_path, shared_data):
    out = tmp_path / "e5-hybrid"
    overrides = [
        "model.name=multilingual-e5-small",
        "model.max_query_length=32",
        "model.max_passage_length=64",
        f"data.data_dir={shared_data}",
        "data.max_items=600",  # a subsample keeps this under a minute on 2 cores
        "data.val_batches=1",
        "sampling.strategy=hybrid",
        "sampling.alpha=0.5",
        "sampling.batch_size=8",
        f"train.output_dir={out}",
        "train.max_steps=3",
        "train.warmup_steps=1",
        "train.eval_every=3",
        "train.save_every=3",
        "train.log_every=1",
        "train.progress=false",
    ]
    result = train(load_config(None, overrides))

    assert result.steps == 3
    assert np.isfinite(result.best_val_loss)
    assert result.summary["selected_step"] == 3 and result.summary["precision"]["used"] in ("fp32", "bf16")
    assert result.summary["nonfinite_steps"] == 0 and result.summary["parameters"]["trainable"] > 10_000_000
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert any("loss" in r and np.isfinite(r["loss"]) for r in rows)
    saved = json.loads((out / "data_fingerprint.json").read_text())
    assert len(saved["sha256"]) == 64
    assert (out / "config.yaml").read_text().count("multilingual-e5-small") >= 1

    # the saved folder is a trainable BiEncoder again, with the E5 prefixes, and still retrieves
    model = load_model(out)
    assert model.config.query_prefix == "query: " and model.config.passage_prefix == "passage: "
    q = model.encode(["Where is the Eiffel Tower?", "¿Dónde está la Torre Eiffel?"], side="query")
    p = model.encode(["The Eiffel Tower is in Paris.", "Bananas are yellow fruit."], side="passage")
    scores = q @ p.T  # (2, 2)
    assert (scores.argmax(axis=1) == 0).all()
