"""The experiment config (YAML): arms x seeds, evaluation suites, the pre-registered analysis.

``load_spec("configs/experiments/rq-complex-beir.yaml")`` reads and validates a file; every error is
a :class:`~polyret.errors.ConfigError` that names the file and the key. Shape of a file::

    name: rq-complex-beir
    description: one paragraph
    demo: false                      # true: a demo-scale run; demo_note says what was cut
    base_model: multilingual-e5-small
    seeds: [1, 2, 3]
    keep_models: false               # delete weights once a cell's evaluations are written
    training:                        # shared polyret.config sections (model, data, sampling, train)
      train: {max_steps: 280, lr: 3.0e-5}
    arms:                            # name -> strategy, alpha, and any further `section.key` overrides
      mono: {strategy: mono}
      cross: {strategy: cross}
      hybrid: {strategy: hybrid, alpha: 0.5}
    references: [zero-shot, bm25]    # evaluated once each, never trained
    evaluation:
      precision: fp32
      suites:
        - {task: xquad-r, max_query_length: 64, max_passage_length: 128}
        - {task: beir/arguana, max_query_length: 512, max_passage_length: 512}
    preregistration:
      file: docs/preregistration/rq-complex-beir.json
      research_question: ...; hypotheses: [...]
      subsets: [bm25-failure, long, multi-part]
      primary_metric: nDCG@10
      secondary_metrics: [R@100]
      correction: holm
      comparisons: [{a: hybrid, b: cross, primary: true}, {a: hybrid, b: mono}]

Plain data: ``polyret.runner`` executes it, ``polyret.report`` reads it back from the folder.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from polyret.config import read_yaml
from polyret.errors import ConfigError
from polyret.schemas import check_name, unique_names

REFERENCES = ("zero-shot", "bm25")
PRECISIONS = ("auto", "fp32", "bf16")
CORRECTIONS = ("holm", "none")
TRAINING_SECTIONS = ("model", "data", "sampling", "train")
ARM_SHORTHANDS = {"strategy": "sampling.strategy", "alpha": "sampling.alpha"}
# Keys the runner sets itself for every cell: a config may not override them.
RUNNER_KEYS = ("train.output_dir", "model.name", "train.seed", "sampling.seed")


@dataclass(frozen=True)
class Suite:
    """One evaluation task with its settings (identical for every model of the experiment)."""

    task: str
    max_query_length: int = 128
    max_passage_length: int = 512
    languages: list[str] | None = None
    max_queries: int | None = None
    candidate_text: str = "sentence"
    batch_size: int = 64

    @property
    def slug(self) -> str:
        """File-name form of the task: ``beir/scifact`` -> ``beir-scifact``."""
        return self.task.replace("/", "-")

    @property
    def is_lareqa(self) -> bool:
        return "/" not in self.task or self.task.startswith("lareqa/")


@dataclass(frozen=True)
class Arm:
    """A trained arm: a name and its training overrides (dotted keys)."""

    name: str
    overrides: dict[str, Any]

    @property
    def strategy(self) -> str:
        return str(self.overrides.get("sampling.strategy", "hybrid"))

    @property
    def alpha(self) -> float | None:
        if self.strategy != "hybrid":
            return None
        return float(self.overrides.get("sampling.alpha", 0.5))


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    primary: bool = False

    @property
    def label(self) -> str:
        return f"{self.a} - {self.b}"


@dataclass(frozen=True)
class Preregistration:
    file: str
    research_question: str = ""
    hypotheses: list[str] = field(default_factory=list)
    subsets: list[str] = field(default_factory=lambda: ["bm25-failure", "long", "multi-part"])
    primary_metric: str = "nDCG@10"
    secondary_metrics: list[str] = field(default_factory=lambda: ["R@100"])
    correction: str = "holm"
    significance_level: float = 0.05
    permutations: int = 10_000
    bootstrap: int = 10_000
    comparisons: list[Comparison] = field(default_factory=list)
    equivalence_margin: float | None = None  # TOST margin (metric units), e.g. 0.01 nDCG@10
    pooled: bool = False  # primary family = tasks pooled (task fixed); per-task cells a secondary family

    @property
    def primary_comparison(self) -> Comparison | None:
        return next((c for c in self.comparisons if c.primary), None)


@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    base_model: str
    seeds: list[int]
    arms: list[Arm]
    suites: list[Suite]
    preregistration: Preregistration
    training: dict[str, dict[str, Any]] = field(default_factory=dict)
    references: list[str] = field(default_factory=lambda: list(REFERENCES))
    precision: str = "fp32"
    keep_models: bool = False
    demo: bool = False
    demo_note: str = ""
    description: str = ""
    source: str = "<dict>"

    def arm(self, name: str) -> Arm:
        return {a.name: a for a in self.arms}[name]  # KeyError: not an arm

    @property
    def arm_names(self) -> list[str]:
        return [a.name for a in self.arms]

    @property
    def tested_tasks(self) -> list[str]:
        """The run-based suites' tasks (BEIR, BIRCO, ...): those the pre-registered tests compare."""
        return [s.task for s in self.suites if not s.is_lareqa]

    def to_dict(self) -> dict[str, Any]:
        """The resolved config, as written to ``experiment.yaml`` (loads back to an equal spec)."""
        prereg = asdict(self.preregistration)
        for key, default in (("equivalence_margin", None), ("pooled", False)):  # added later: unset keys
            if prereg[key] == default:  # stay out, so earlier specs keep their hash
                del prereg[key]
        return {
            "name": self.name,
            "description": self.description,
            "demo": self.demo,
            "demo_note": self.demo_note,
            "base_model": self.base_model,
            "seeds": list(self.seeds),
            "keep_models": self.keep_models,
            "training": copy.deepcopy(self.training),
            "arms": {a.name: dict(a.overrides) for a in self.arms},
            "references": list(self.references),
            "evaluation": {"precision": self.precision, "suites": [asdict(s) for s in self.suites]},
            "preregistration": prereg,
        }

    def fingerprint(self) -> str:
        return stable_hash(self.to_dict())


def stable_hash(obj: Any, length: int = 10) -> str:
    """Hex digest of canonical JSON (sorted keys): equal configs give equal hashes."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


# ---------------------------------------------------------------------------------- parsing
def _expect(where: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise ConfigError(f"{where}: expected {what}, got {value!r}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _known(where: str, mapping: dict, allowed: tuple[str, ...] | list[str]) -> None:
    bad = sorted(set(mapping) - set(allowed))
    if bad:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(bad)}; valid: {', '.join(sorted(allowed))}")


def _flatten(where: str, section: str, values: Any) -> dict[str, Any]:
    _expect(f"{where}.{section}", values, dict, "a mapping")
    return {f"{section}.{k}": v for k, v in values.items()}


def _parse_arm(src: str, name: str, raw: Any) -> Arm:
    where = f"{src}: arms.{name}"
    raw = _expect(where, raw if raw is not None else {}, dict,
                  "a mapping (strategy, alpha, section.key: value)")
    overrides: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ARM_SHORTHANDS:
            overrides[ARM_SHORTHANDS[key]] = value
        elif key in TRAINING_SECTIONS:
            overrides.update(_flatten(where, key, value))
        elif "." in key and key.split(".", 1)[0] in TRAINING_SECTIONS:
            overrides[key] = value
        else:
            raise ConfigError(f"{where}: unknown key {key!r}; use strategy, alpha, or section.key "
                              f"with a section in {', '.join(TRAINING_SECTIONS)}")
    for key in overrides:
        if key in RUNNER_KEYS:
            raise ConfigError(f"{where}: {key} is set by the runner for every cell")
    if "sampling.strategy" not in overrides:
        raise ConfigError(f"{where}: missing 'strategy' (mono, cross, hybrid, ...)")
    return Arm(name, overrides)


def _parse_suite(src: str, i: int, raw: Any) -> Suite:
    where = f"{src}: evaluation.suites[{i}]"
    if isinstance(raw, str):
        raw = {"task": raw}
    _expect(where, raw, dict, "a mapping with 'task'")
    fields = Suite.__dataclass_fields__
    _known(where, raw, list(fields))
    if "task" not in raw:
        raise ConfigError(f"{where}: missing 'task'")
    for key in ("max_query_length", "max_passage_length", "batch_size", "max_queries"):
        if raw.get(key) is not None and (not isinstance(raw[key], int) or isinstance(raw[key], bool)
                                         or raw[key] < 1):
            raise ConfigError(f"{where}.{key}: expected a positive integer, got {raw[key]!r}")
    if raw.get("languages") is not None:
        raw = {**raw, "languages": [str(x) for x in _expect(f"{where}.languages", raw["languages"], list,
                                                            "a list of language codes")]}
    return Suite(**raw)


def _parse_prereg(src: str, raw: Any, arms: list[str]) -> Preregistration:
    where = f"{src}: preregistration"
    _expect(where, raw, dict, "a mapping")
    fields = Preregistration.__dataclass_fields__
    _known(where, raw, list(fields))
    if not raw.get("file"):
        raise ConfigError(f"{where}.file: the versioned file of selected query ids is required")
    comps = []
    for i, c in enumerate(raw.get("comparisons") or []):
        cw = f"{where}.comparisons[{i}]"
        _expect(cw, c, dict, "a mapping {a, b, primary}")
        _known(cw, c, ("a", "b", "primary"))
        for side in ("a", "b"):
            if c.get(side) not in arms:
                raise ConfigError(f"{cw}.{side}: {c.get(side)!r} is not an arm ({', '.join(arms)})")
        comps.append(Comparison(str(c["a"]), str(c["b"]), bool(c.get("primary", False))))
    if sum(c.primary for c in comps) > 1:
        raise ConfigError(f"{where}.comparisons: at most one comparison may be primary")
    values = {k: v for k, v in raw.items() if k != "comparisons"}
    if values.get("correction", "holm") not in CORRECTIONS:
        raise ConfigError(f"{where}.correction: expected one of {', '.join(CORRECTIONS)}")
    level = values.get("significance_level", 0.05)
    if not isinstance(level, float) or not 0 < level < 1:
        raise ConfigError(f"{where}.significance_level: expected a number in (0, 1), got {level!r}")
    margin = values.get("equivalence_margin")
    if margin is not None and (isinstance(margin, bool) or not isinstance(margin, int | float)
                               or margin <= 0):
        raise ConfigError(f"{where}.equivalence_margin: expected a number > 0 (metric units), got {margin!r}")
    if not isinstance(values.get("pooled", False), bool):
        raise ConfigError(f"{where}.pooled: expected true or false, got {values['pooled']!r}")
    for key in ("permutations", "bootstrap"):
        if key in values and (not isinstance(values[key], int) or values[key] < 100):
            raise ConfigError(f"{where}.{key}: expected an integer >= 100, got {values[key]!r}")
    return Preregistration(**values, comparisons=comps)


TOP_KEYS = ("extends", "name", "description", "demo", "demo_note", "base_model", "seeds", "keep_models",
            "training", "arms", "references", "evaluation", "preregistration")


def spec_from_dict(raw: Any, source: str = "<dict>") -> ExperimentSpec:
    """Validate a parsed YAML mapping into an :class:`ExperimentSpec` (errors name the key)."""
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{source}: an experiment config must be a non-empty mapping")
    _known(source, raw, TOP_KEYS)
    for key in ("name", "base_model", "seeds", "arms", "evaluation", "preregistration"):
        if key not in raw:
            raise ConfigError(f"{source}: missing required key {key!r}")
    seeds = _expect(f"{source}: seeds", raw["seeds"], list, "a list of integers")
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ConfigError(f"{source}: seeds: expected a non-empty list of integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{source}: seeds: duplicates in {seeds}")
    training = _expect(f"{source}: training", raw.get("training") or {}, dict, "a mapping of sections")
    _known(f"{source}: training", training, TRAINING_SECTIONS)
    flat = {k: v for s, vals in training.items() for k, v in _flatten(f"{source}: training", s, vals).items()}
    for key in flat:
        if key in RUNNER_KEYS:
            raise ConfigError(f"{source}: training.{key} is set by the runner for every cell")
    arms_raw = _expect(f"{source}: arms", raw["arms"], dict, "a mapping name -> settings")
    names = unique_names(f"{source}: arms", arms_raw, "arm name")
    arms = [_parse_arm(source, name, value) for name, value in zip(names, arms_raw.values(), strict=True)]
    if not arms:
        raise ConfigError(f"{source}: arms: at least one arm is required")
    refs = [str(r) for r in _expect(f"{source}: references", raw.get("references", list(REFERENCES)), list,
                                    "a list")]
    for r in refs:
        if r not in REFERENCES:
            raise ConfigError(f"{source}: references: {r!r} is not one of {', '.join(REFERENCES)}")
    clash = set(refs) & {a.name for a in arms}
    if clash:
        raise ConfigError(f"{source}: arms: {sorted(clash)} is a reference name")
    ev = _expect(f"{source}: evaluation", raw["evaluation"], dict, "a mapping {precision, suites}")
    _known(f"{source}: evaluation", ev, ("precision", "suites"))
    precision = ev.get("precision", "fp32")
    if precision not in PRECISIONS:
        raise ConfigError(f"{source}: evaluation.precision: expected one of {', '.join(PRECISIONS)}")
    suites = [_parse_suite(source, i, s) for i, s in enumerate(
        _expect(f"{source}: evaluation.suites", ev.get("suites"), list, "a list of tasks"))]
    if not suites:
        raise ConfigError(f"{source}: evaluation.suites: at least one task is required")
    if len({s.task for s in suites}) != len(suites):
        raise ConfigError(f"{source}: evaluation.suites: a task is listed twice")
    name = check_name(f"{source}: name", raw["name"], "experiment name")
    spec = ExperimentSpec(
        name=name, base_model=str(raw["base_model"]), seeds=list(seeds), arms=arms,
        suites=suites, preregistration=_parse_prereg(source, raw["preregistration"], [a.name for a in arms]
                                                     + refs),
        training={s: dict(v) for s, v in training.items()}, references=refs, precision=precision,
        keep_models=bool(raw.get("keep_models", False)), demo=bool(raw.get("demo", False)),
        demo_note=str(raw.get("demo_note", "")), description=str(raw.get("description", "")), source=source)
    _check_training_config(spec)
    return spec


def _check_training_config(spec: ExperimentSpec) -> None:
    """Every arm's resolved training config must load (unknown keys, bad values fail here)."""
    for arm in spec.arms:
        try:
            training_config(spec, arm, spec.seeds[0], "<check>")
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{spec.source}: arms.{arm.name}: {exc}") from None


def training_config(spec: ExperimentSpec, arm: Arm, seed: int, output_dir: str | Path):
    """The resolved :class:`polyret.config.ExperimentConfig` of one (arm, seed) cell."""
    from polyret.config import ExperimentConfig

    raw: dict[str, dict[str, Any]] = copy.deepcopy(spec.training)
    for key, value in arm.overrides.items():
        section, name = key.split(".", 1)
        raw.setdefault(section, {})[name] = value
    raw.setdefault("model", {})["name"] = spec.base_model
    raw.setdefault("train", {}).update(output_dir=str(output_dir), seed=int(seed))
    raw.setdefault("sampling", {})["seed"] = int(seed) * 1000 + 13
    return ExperimentConfig.from_dict(raw, source=f"{spec.source} arm {arm.name}")


def _resolve_extends(path: Path, raw: Any, seen: tuple[Path, ...] = ()) -> Any:
    """``extends: parent.yaml`` (relative to the file): the child's top-level keys replace the
    parent's, except ``training``, whose sections are merged key by key."""
    if not isinstance(raw, dict) or "extends" not in raw:
        return raw
    if not isinstance(raw["extends"], str) or not raw["extends"].strip():
        raise ConfigError(f"{path}: extends: expected the path of a parent config, got {raw['extends']!r}")
    parent_path = (path.parent / raw["extends"]).resolve()
    if parent_path in seen:
        raise ConfigError(f"{path}: extends: a cycle through {parent_path}")
    parent = _resolve_extends(parent_path, read_yaml(parent_path), (*seen, parent_path))
    if not isinstance(parent, dict):
        raise ConfigError(f"{parent_path}: an experiment config must be a mapping")
    merged = {**parent, **{k: v for k, v in raw.items() if k != "extends"}}
    training: dict[str, dict] = {}
    for where, layer in ((parent_path, parent), (path, raw)):
        sections = _expect(f"{where}: training", layer.get("training") or {}, dict, "a mapping of sections")
        for section, values in sections.items():
            values = _expect(f"{where}: training.{section}", values or {}, dict, "a mapping of keys")
            training.setdefault(section, {}).update(values)
    merged["training"] = training
    return merged


def load_spec(path: str | Path) -> ExperimentSpec:
    """Read and validate an experiment YAML file (following ``extends``)."""
    path = Path(path)
    raw = _resolve_extends(path.resolve(), read_yaml(path))
    return spec_from_dict(raw, source=str(path))
