"""Typed experiment configuration: dataclasses grouped by concern, loaded from YAML.

``load_config("configs/hybrid.yaml", ["sampling.alpha=0.4"])`` reads the file, applies dotted
overrides (values parsed as YAML scalars) and validates every field; unknown keys raise an error
that lists the valid ones. ``config.to_dict()`` is what ``polyret train`` saves as ``config.yaml``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STRATEGIES = ("mono", "cross", "hybrid", "en-en", "mixed")
MONO_LANGUAGE_WEIGHTS = ("uniform", "proportional")
CROSS_PAIR_MODES = ("item", "batch")
ALPHA_SCHEDULES = ("constant", "linear", "step")
DATASET_MIXING = ("proportional", "weights")
MIXED_PRECISION = ("auto", "no", "bf16", "fp16")


def _help(text: str) -> dict:
    return {"help": text}


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not valid; expected one of {', '.join(allowed)}")


@dataclass
class ModelConfig:
    name: str = field(default="multilingual-e5-small", metadata=_help(
        "built-in model name, saved model folder, or 'tiny' (random 2-layer BERT over the data's words)"))
    max_query_length: int = field(default=64, metadata=_help("query truncation length (tokens)"))
    max_passage_length: int = field(default=192, metadata=_help("passage truncation length (tokens)"))
    tiny_seed: int = field(default=0, metadata=_help("init seed of the 'tiny' model"))


@dataclass
class DataConfig:
    train_data: list[str] = field(default_factory=lambda: ["squad-parallel"], metadata=_help(
        "training sets: catalog names (e.g. squad-parallel) or parallel .jsonl files (QAPair rows)"))
    data_dir: str | None = field(default=None, metadata=_help("data root (default: the catalog's)"))
    languages: list[str] = field(default_factory=lambda: ["en", "es", "da", "it"],
                                 metadata=_help("languages to train on"))
    exclude: list[str] = field(default_factory=lambda: ["xquad"],
                               metadata=_help("evaluation sets whose paragraphs are removed"))
    max_items: int | None = field(default=None, metadata=_help(
        "subsample items per set (seeded); None = all"))
    val_fraction: float = field(default=0.05, metadata=_help("held-out share of item ids for validation"))
    val_batches: int = field(default=20, metadata=_help("fixed validation batches per evaluation"))
    hard_negatives: str | None = field(default=None, metadata=_help(
        "jsonl of mined negatives (polyret.training.mining); None = in-batch negatives only"))
    num_hard_negatives: int = field(default=0, metadata=_help("hard negatives per query (d-)"))

    def __post_init__(self) -> None:
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"data.val_fraction must be in [0, 1), not {self.val_fraction}")
        if self.num_hard_negatives and not self.hard_negatives:
            raise ValueError("data.num_hard_negatives > 0 needs data.hard_negatives (a mined file)")


@dataclass
class SamplingConfig:
    strategy: str = field(default="hybrid", metadata=_help(f"batch strategy: {', '.join(STRATEGIES)}"))
    batch_size: int = field(default=32, metadata=_help("pairs per (global) batch"))
    alpha: float = field(default=0.5, metadata=_help("hybrid: probability of a mono batch"))
    alpha_schedule: str = field(default="constant", metadata=_help(
        f"hybrid alpha over steps: {', '.join(ALPHA_SCHEDULES)}"))
    alpha_end: float = field(default=0.5, metadata=_help("linear: alpha at alpha_steps"))
    alpha_steps: int = field(default=1000, metadata=_help("linear: steps from alpha to alpha_end"))
    alpha_milestones: list[int] = field(default_factory=list, metadata=_help(
        "step: steps where alpha changes"))
    alpha_values: list[float] = field(default_factory=list, metadata=_help(
        "step: alpha after each milestone (same length as alpha_milestones)"))
    mono_languages: str = field(default="uniform", metadata=_help(
        "mono batch language: uniform over languages or proportional to items available"))
    cross_pairs: str = field(default="item", metadata=_help(
        "cross: 'item' = each pair uniform over the ordered pairs its item has; "
        "'batch' = one pair per batch"))
    cross_batch_weights: str = field(default="uniform", metadata=_help(
        "cross_pairs=batch: draw the language pair uniformly or proportional to items having it"))
    distinct_passages: bool = field(default=True, metadata=_help(
        "never put two items that share a paragraph (in any language) into one batch"))
    dataset_mixing: str = field(default="proportional", metadata=_help(
        "several train sets: choose each batch's set proportional to size or by dataset_weights"))
    dataset_weights: list[float] = field(default_factory=list, metadata=_help("weights per train set"))
    seed: int = field(default=13, metadata=_help("sampler seed (epoch e uses seed + e)"))

    def __post_init__(self) -> None:
        _choice("sampling.strategy", self.strategy, STRATEGIES)
        _choice("sampling.alpha_schedule", self.alpha_schedule, ALPHA_SCHEDULES)
        _choice("sampling.mono_languages", self.mono_languages, MONO_LANGUAGE_WEIGHTS)
        _choice("sampling.cross_pairs", self.cross_pairs, CROSS_PAIR_MODES)
        _choice("sampling.cross_batch_weights", self.cross_batch_weights, MONO_LANGUAGE_WEIGHTS)
        _choice("sampling.dataset_mixing", self.dataset_mixing, DATASET_MIXING)
        if self.batch_size < 1:
            raise ValueError(f"sampling.batch_size must be >= 1, not {self.batch_size}")
        for name, value in [("alpha", self.alpha), ("alpha_end", self.alpha_end)] + [
                ("alpha_values", v) for v in self.alpha_values]:
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"sampling.{name} must be in [0, 1], not {value}")
        if len(self.alpha_milestones) != len(self.alpha_values):
            raise ValueError("sampling.alpha_milestones and sampling.alpha_values need the same length")


@dataclass
class TrainConfig:
    output_dir: str = field(default="runs/polyret", metadata=_help("where model, config and metrics go"))
    max_steps: int = field(default=300, metadata=_help("optimizer steps"))
    lr: float = field(default=3e-5, metadata=_help("AdamW learning rate (paper: 3e-5)"))
    weight_decay: float = field(default=0.01, metadata=_help("AdamW weight decay (paper: 0.01)"))
    warmup_steps: int = field(default=30, metadata=_help("linear warmup steps, then linear decay to 0"))
    grad_accum: int = field(default=1, metadata=_help("batches per optimizer step"))
    max_grad_norm: float = field(default=1.0, metadata=_help("gradient clipping norm (0 = off)"))
    temperature: float = field(default=0.05, metadata=_help("InfoNCE tau (1.0 = the paper's formula)"))
    symmetric: bool = field(default=False, metadata=_help("add the passage->query InfoNCE term"))
    grad_cache_chunk: int = field(default=0, metadata=_help(
        "gradient caching sub-batch size (0 = off): same gradients as the full batch, less memory"))
    gather_across_devices: bool = field(default=True, metadata=_help(
        "distributed: every query sees the negatives of the global batch"))
    mixed_precision: str = field(default="auto", metadata=_help(
        "auto (bf16 on GPU, fp32 on CPU), no, bf16, fp16"))
    seed: int = field(default=42, metadata=_help("seed for init, dropout and the data split"))
    eval_every: int = field(default=50, metadata=_help("steps between validation losses (0 = only at end)"))
    save_every: int = field(default=50, metadata=_help("steps between resumable checkpoints (0 = off)"))
    keep_checkpoints: int = field(default=2, metadata=_help("resumable checkpoints kept"))
    early_stopping_patience: int = field(default=0, metadata=_help(
        "stop after this many evaluations without a better validation loss (0 = never)"))
    log_every: int = field(default=10, metadata=_help("steps between metrics.jsonl rows"))
    progress: bool = field(default=True, metadata=_help("show a tqdm progress bar"))

    def __post_init__(self) -> None:
        _choice("train.mixed_precision", self.mixed_precision, MIXED_PRECISION)
        if self.temperature <= 0:
            raise ValueError(f"train.temperature must be > 0, not {self.temperature}")
        if self.max_steps < 1 or self.grad_accum < 1:
            raise ValueError("train.max_steps and train.grad_accum must be >= 1")


SECTIONS = {"model": ModelConfig, "data": DataConfig, "sampling": SamplingConfig, "train": TrainConfig}


@dataclass
class ExperimentConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "<dict>") -> ExperimentConfig:
        raw = raw or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{source}: expected a mapping of sections {sorted(SECTIONS)}")
        unknown = set(raw) - set(SECTIONS)
        if unknown:
            raise ValueError(f"{source}: unknown section(s) {sorted(unknown)}; valid: {sorted(SECTIONS)}")
        parts = {}
        for name, klass in SECTIONS.items():
            values = raw.get(name) or {}
            valid = {f.name: f for f in dataclasses.fields(klass)}
            bad = set(values) - set(valid)
            if bad:
                raise ValueError(f"{source}: unknown key(s) {sorted(f'{name}.{k}' for k in bad)}; "
                                 f"valid keys of '{name}': {', '.join(sorted(valid))}")
            hints = typing.get_type_hints(klass)
            parts[name] = klass(**{k: _coerce(f"{source}: {name}.{k}", v, hints[k])
                                   for k, v in values.items()})
        return cls(**parts)


def valid_keys() -> list[str]:
    return [f"{s}.{f.name}" for s, k in SECTIONS.items() for f in dataclasses.fields(k)]


def _coerce(where: str, value: Any, hint: Any) -> Any:
    """Check/convert a YAML value to the field type (int->float, scalar->list)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
        return _coerce(where, value, hint)
    if origin is list:
        items = value if isinstance(value, list) else [value]
        return [_coerce(where, v, args[0]) for v in items]
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):  # YAML 1.1 reads "1e-4" as a string
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{where}: expected float, got {value!r}") from None
    if hint is str and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if hint in (int, float, str, bool) and type(value) is not hint:
        raise ValueError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value


def parse_overrides(overrides: list[str]) -> dict[str, dict[str, Any]]:
    """``["sampling.alpha=0.4", "data.languages=[en,es]"]`` -> nested dict (values parsed as YAML)."""
    import yaml

    keys = set(valid_keys())
    nested: dict[str, dict[str, Any]] = {}
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"--set {item!r}: expected key=value, e.g. sampling.alpha=0.4")
        if key not in keys:
            raise ValueError(f"--set {key!r}: unknown key; valid keys: {', '.join(sorted(keys))}")
        section, name = key.split(".", 1)
        nested.setdefault(section, {})[name] = yaml.safe_load(text) if text.strip() else None
    return nested


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read a YAML config (or the defaults when ``path`` is None) and apply dotted overrides."""
    import yaml

    raw: dict[str, Any] = {}
    source = "<defaults>"
    if path is not None:
        source = str(path)
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: invalid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: expected a mapping of sections {sorted(SECTIONS)}")
    for section, values in parse_overrides(overrides or []).items():
        if not isinstance(raw.get(section), dict):
            raw[section] = {}
        raw[section].update(values)
    return ExperimentConfig.from_dict(raw, source=source)


def save_config(config: ExperimentConfig, path: str | Path) -> None:
    import yaml

    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
