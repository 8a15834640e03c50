"""Typed config: YAML + dotted overrides, clear errors, shipped configs load."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyret.config import ExperimentConfig, config_differences, load_config, parse_overrides, save_config
from polyret.errors import ConfigError

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


@pytest.mark.parametrize("name", ["hybrid", "mono", "cross", "en-en", "mixed"])
def test_strategy_configs_are_what_they_are_named(name):
    """cross.yaml really trains cross batches etc., and the five differ only in strategy and output."""
    cfg = load_config(Path(CONFIGS[0]).parent / f"{name}.yaml")
    assert cfg.sampling.strategy == name and Path(cfg.train.output_dir).name == name
    ref = load_config(Path(CONFIGS[0]).parent / "hybrid.yaml")
    assert set(config_differences(ref, cfg)) <= {"sampling.strategy", "train.output_dir"}


BAD_VALUES = [
    ("train.lr=.nan", "train.lr"), ("train.lr=-1e-5", "train.lr"), ("train.lr=.inf", "train.lr"),
    ("train.warmup_steps=-1", "train.warmup_steps"), ("train.max_grad_norm=-1.0", "train.max_grad_norm"),
    ("train.max_steps=0", "train.max_steps"), ("train.temperature=0", "train.temperature"),
    ("train.weight_decay=-0.1", "train.weight_decay"), ("train.precision=fp16", "train.precision"),
    ("train.select=median", "train.select"), ("data.val_batches=-2", "data.val_batches"),
    ("data.languages=[]", "data.languages"), ("model.max_query_length=0", "model.max_query_length"),
    ("sampling.alpha=.nan", "sampling.alpha"), ("train.lr=[1, 2]", "train.lr"),
    ("sampling.batch_size=1.5", "sampling.batch_size"), ("train.progress=3", "train.progress"),
]


@pytest.mark.parametrize(("override", "key"), BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_invalid_values_are_config_errors_naming_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(None, [override])


def test_empty_file_and_scalar_sections_are_config_errors(tmp_path):
    f = tmp_path / "empty.yaml"
    f.write_text("# nothing here\n")
    with pytest.raises(ConfigError, match=r"empty\.yaml.*empty"):
        load_config(f)
    f.write_text("train: 3\n")
    with pytest.raises(ConfigError, match=r"'train' must be a section"):
        load_config(f)
    with pytest.raises(ConfigError, match=r"'train' must be a section"):
        load_config(f, ["train.lr=1e-4"])
    f.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping of sections"):
        load_config(f)
    f.write_text("train:\n  lr: -1\n")
    with pytest.raises(ConfigError, match=r"empty\.yaml: train\.lr must be"):  # the file is named
        load_config(f)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_alpha_settings_on_a_non_hybrid_strategy_are_rejected():
    with pytest.raises(ConfigError, match=r"sampling\.alpha .*strategy='cross'"):
        load_config(None, ["sampling.strategy=cross", "sampling.alpha=0.3"])
    with pytest.raises(ConfigError, match=r"sampling\.alpha_schedule"):
        load_config(None, ["sampling.strategy=mono", "sampling.alpha_schedule=linear"])
    # the default value has no effect and is accepted (a saved config.yaml lists every key)
    assert load_config(None, ["sampling.strategy=mono", "sampling.alpha=0.5"]).sampling.strategy == "mono"
    assert load_config(None, ["sampling.alpha=0.3"]).sampling.alpha == 0.3  # hybrid uses it


def test_renamed_mixed_precision_points_to_precision(tmp_path):
    with pytest.raises(ConfigError, match=r"renamed to train\.precision"):
        load_config(None, ["train.mixed_precision=bf16"])
    f = tmp_path / "old.yaml"
    f.write_text("train:\n  mixed_precision: auto\n")
    with pytest.raises(ConfigError, match=r"renamed to train\.precision"):
        load_config(f)


def test_select_last_excludes_early_stopping():
    with pytest.raises(ConfigError, match="early_stopping_patience"):
        load_config(None, ["train.select=last", "train.early_stopping_patience=2"])


def test_expected_configs_exist():
    names = {p.stem for p in CONFIGS}
    assert {"hybrid", "mono", "cross", "en-en", "mixed", "smoke", "cpu-e5-hybrid"} <= names
