"""Typed config: YAML + dotted overrides, clear errors, shipped configs load."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyret.config import ExperimentConfig, load_config, parse_overrides, save_config

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


def test_overrides_and_round_trip(tmp_path):
    cfg = load_config(None, ["sampling.alpha=0.4", "data.languages=[en, es]", "train.lr=1e-4",
                             "train.max_steps=7", "data.max_items=null"])
    assert cfg.sampling.alpha == 0.4 and cfg.data.languages == ["en", "es"] and cfg.train.lr == 1e-4
    assert cfg.train.max_steps == 7 and cfg.data.max_items is None
    save_config(cfg, tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == cfg


def test_unknown_keys_list_valid_ones(tmp_path):
    with pytest.raises(ValueError, match=r"unknown key.*sampling.alpha"):
        parse_overrides(["sampling.alpah=0.4"])
    f = tmp_path / "bad.yaml"
    f.write_text("sampling:\n  batchsize: 3\n")
    with pytest.raises(ValueError, match=r"bad.yaml.*sampling.batchsize.*batch_size"):
        load_config(f)
    f.write_text("optim:\n  lr: 3\n")
    with pytest.raises(ValueError, match="unknown section"):
        load_config(f)


def test_bad_values_are_rejected():
    with pytest.raises(ValueError, match="strategy"):
        load_config(None, ["sampling.strategy=bilingual"])
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        load_config(None, ["sampling.alpha=1.5"])
    with pytest.raises(ValueError, match="expected int"):
        load_config(None, ["train.max_steps=many"])
    with pytest.raises(ValueError, match="key=value"):
        load_config(None, ["sampling.alpha"])


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load(path):
    cfg = load_config(path)
    assert isinstance(cfg, ExperimentConfig) and cfg.train.output_dir


def test_expected_configs_exist():
    names = {p.stem for p in CONFIGS}
    assert {"hybrid", "mono", "cross", "en-en", "mixed", "smoke", "cpu-e5-hybrid"} <= names
