"""The experiment config: validation names the key, `extends` merges, resolved configs round-trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from polyret.errors import ConfigError
from polyret.experiment.spec import load_spec, spec_from_dict, training_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "experiments"


def minimal(**changes) -> dict:
    raw = {
        "name": "t",
        "base_model": "tiny",
        "seeds": [1, 2],
        "arms": {"cross": {"strategy": "cross"}, "hybrid": {"strategy": "hybrid", "alpha": 0.5}},
        "references": ["bm25"],
        "evaluation": {"suites": [{"task": "beir/scifact"}]},
        "preregistration": {"file": "p.json",
                            "comparisons": [{"a": "hybrid", "b": "cross", "primary": True}]},
    }
    raw.update(changes)
    return raw


@pytest.mark.parametrize("name", ["rq-complex-beir", "alpha-sweep", "demo"])
def test_shipped_configs_load_and_round_trip(name):
    spec = load_spec(CONFIGS / f"{name}.yaml")
    again = spec_from_dict(yaml.safe_load(yaml.safe_dump(spec.to_dict())), "round-trip")
    assert again.to_dict() == spec.to_dict()
    assert spec.preregistration.primary_comparison is not None


def test_research_config_is_the_registered_design():
    spec = load_spec(CONFIGS / "rq-complex-beir.yaml")
    assert spec.arm_names == ["mono", "cross", "hybrid"]
    assert [a.strategy for a in spec.arms] == ["mono", "cross", "hybrid"]
    assert spec.arm("hybrid").alpha == 0.5 and spec.arm("cross").alpha is None
    assert spec.seeds == [1, 2, 3]
    assert spec.training["train"]["max_steps"] * spec.training["sampling"]["batch_size"] >= 8911  # one epoch
    assert spec.tested_tasks == ["beir/nfcorpus", "beir/scifact", "beir/arguana"]
    assert {s.task for s in spec.suites} >= {"xquad-r", "mlqa-r"}
    beir = [s for s in spec.suites if s.task.startswith("beir/")]
    assert {(s.max_query_length, s.max_passage_length) for s in beir} == {(512, 512)}
    pc = spec.preregistration.primary_comparison
    assert (pc.a, pc.b) == ("hybrid", "cross")


def test_alpha_sweep_inherits_training_and_evaluation():
    rq, sweep = load_spec(CONFIGS / "rq-complex-beir.yaml"), load_spec(CONFIGS / "alpha-sweep.yaml")
    assert sweep.training == rq.training and sweep.suites == rq.suites
    assert [a.alpha for a in sweep.arms] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert sweep.preregistration.file != rq.preregistration.file


@pytest.mark.parametrize(("change", "message"), [
    ({"seeds": []}, "seeds"),
    ({"seeds": [1, 1]}, "duplicates"),
    ({"arms": {"x": {"alpha": 0.3}}}, "arms.x: missing 'strategy'"),
    ({"arms": {"x": {"strategy": "hybrid", "lr": 1}}}, "arms.x: unknown key 'lr'"),
    ({"arms": {"x": {"strategy": "hybrid", "train.seed": 3}}}, "set by the runner"),
    ({"arms": {"hybrid": {"strategy": "nonsense"}, "cross": {"strategy": "cross"}}}, "sampling.strategy"),
    ({"references": ["bm26"]}, "references"),
    ({"evaluation": {"suites": []}}, "evaluation.suites"),
    ({"evaluation": {"suites": [{"task": "beir/scifact", "max_query_length": 0}]}},
     "suites[0].max_query_length"),
    ({"evaluation": {"precision": "fp8", "suites": ["xquad-r"]}}, "evaluation.precision"),
    ({"preregistration": {"file": "p.json", "comparisons": [{"a": "hybrid", "b": "mono"}]}},
     "comparisons[0].b"),
    ({"bogus": 1}, "unknown key(s) bogus"),
])
def test_bad_configs_name_the_key(change, message):
    with pytest.raises(ConfigError, match=None) as info:
        spec_from_dict(minimal(**change), "x.yaml")
    assert message in str(info.value) and str(info.value).startswith("x.yaml")


def test_yaml_errors_name_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: t\nseeds: [1\nbase_model: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: invalid YAML"):
        load_spec(path)
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_spec(tmp_path / "missing.yaml")


def test_extends_cycle_is_refused(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nname: a\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="cycle"):
        load_spec(tmp_path / "a.yaml")


def test_training_config_applies_arm_and_seed():
    spec = spec_from_dict(minimal(training={"train": {"max_steps": 7}}), "x.yaml")
    cfg = training_config(spec, spec.arm("hybrid"), 2, "out")
    got = (cfg.sampling.strategy, cfg.sampling.alpha, cfg.train.seed, cfg.train.max_steps)
    assert got == ("hybrid", 0.5, 2, 7)
    other = training_config(spec, spec.arm("hybrid"), 1, "out")
    assert other.sampling.seed != cfg.sampling.seed  # seeds change the batches, not only the init
    assert training_config(spec, spec.arm("cross"), 2, "out").sampling.strategy == "cross"
