"""Typed experiment configuration: dataclasses grouped by concern, loaded from YAML.

``load_config("configs/hybrid.yaml", ["sampling.alpha=0.4"])`` reads the file, applies dotted
overrides (values parsed as YAML scalars) and validates every field; unknown keys, wrong types and
out-of-range values raise :class:`~polyret.errors.ConfigError` naming the file and the key.
``config.to_dict()`` is what ``polyret train`` saves as ``config.yaml``.

The hybrid-only settings (``sampling.alpha``, ``alpha_schedule``, ``alpha_end``, ``alpha_steps``,
``alpha_milestones``, ``alpha_values``) are rejected on any other strategy when they differ from
their defaults (a default value, as in a saved ``config.yaml``, is accepted: it has no effect).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polyret.atomic import write_text
from polyret.errors import ConfigError
from polyret.schemas import read_yaml, unique_key_loader

STRATEGIES = ("mono", "cross", "hybrid", "en-en", "mixed")
MONO_LANGUAGE_WEIGHTS = ("uniform", "proportional")
CROSS_PAIR_MODES = ("item", "batch")
ALPHA_SCHEDULES = ("constant", "linear", "step")
DATASET_MIXING = ("proportional", "weights")
PRECISIONS = ("auto", "fp32", "bf16")
SELECTIONS = ("best", "last")
HYBRID_ONLY = ("alpha", "alpha_schedule", "alpha_end", "alpha_steps", "alpha_milestones", "alpha_values")
RENAMED = {"train.mixed_precision": "train.precision (auto | fp32 | bf16)"}


def _help(text: str) -> dict:
    return {"help": text}


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not valid; expected one of {', '.join(allowed)}")


def _at_least(name: str, value: float, low: float, strict: bool = False) -> None:
    """``value`` must be finite and >= ``low`` (> ``low`` when ``strict``)."""
    bad = not math.isfinite(value) or value < low or (strict and value == low)
    if bad:
        raise ConfigError(f"{name} must be a finite number {'>' if strict else '>='} {low}, not {value}")


@dataclass
class ModelConfig:
    name: str = field(default="multilingual-e5-small", metadata=_help(
        "built-in model name, saved model folder, or 'tiny' (random 2-layer BERT over the data's words)"))
    max_query_length: int = field(default=64, metadata=_help("query truncation length (tokens)"))
    max_passage_length: int = field(default=192, metadata=_help("passage truncation length (tokens)"))
    tiny_seed: int = field(default=0, metadata=_help("init seed of the 'tiny' model"))
    tiny_dropout: float = field(default=0.1, metadata=_help("the 'tiny' model's dropout (0 = deterministic)"))
    freeze_token_embeddings: bool = field(default=False, metadata=_help(
        "train without updating the token embedding table (most of a multilingual model's weights): "
        "much cheaper steps"))

    def __post_init__(self) -> None:
        _at_least("model.max_query_length", self.max_query_length, 1)
        _at_least("model.max_passage_length", self.max_passage_length, 1)
        if not 0.0 <= self.tiny_dropout < 1.0:
            raise ConfigError(f"model.tiny_dropout must be in [0, 1), not {self.tiny_dropout}")


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
        "subsample items per set (seeded by data.split_seed); None = all"))
    val_fraction: float = field(default=0.05, metadata=_help("held-out share of item ids for validation"))
    split_seed: int = field(default=42, metadata=_help(
        "seed of the subsample and the held-out split (independent of train.seed: every arm and seed "
        "validates on the same items)"))
    val_batches: int = field(default=20, metadata=_help("fixed validation batches per evaluation"))
    val_seed: int = field(default=7, metadata=_help(
        "seed of the validation batches: a fixed hybrid (alpha 0.5) mixture of mono and cross batches "
        "over the held-out items, drawn once, the same for every strategy"))
    hard_negatives: str | None = field(default=None, metadata=_help(
        "jsonl of mined negatives (polyret.training.mining); None = in-batch negatives only"))
    num_hard_negatives: int = field(default=0, metadata=_help("hard negatives per query (d-)"))

    def __post_init__(self) -> None:
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"data.val_fraction must be in [0, 1), not {self.val_fraction}")
        if self.max_items is not None:
            _at_least("data.max_items", self.max_items, 1)
        _at_least("data.val_batches", self.val_batches, 0)
        _at_least("data.num_hard_negatives", self.num_hard_negatives, 0)
        if not self.languages:
            raise ConfigError("data.languages is empty; name at least one language")
        if self.num_hard_negatives and not self.hard_negatives:
            raise ConfigError("data.num_hard_negatives > 0 needs data.hard_negatives (a mined file)")


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
        if self.batch_size < 2:  # the loss is in-batch contrastive: one pair has no negative to learn from
            raise ConfigError(f"sampling.batch_size must be >= 2 (in-batch contrastive loss: each query "
                              f"needs the other pairs' passages as negatives), not {self.batch_size}")
        for name, value in [("alpha", self.alpha), ("alpha_end", self.alpha_end)] + [
                ("alpha_values", v) for v in self.alpha_values]:
            if not 0.0 <= value <= 1.0:  # False for NaN too
                raise ConfigError(f"sampling.{name} must be in [0, 1], not {value}")
        if len(self.alpha_milestones) != len(self.alpha_values):
            raise ConfigError("sampling.alpha_milestones and sampling.alpha_values need the same length")
        if self.strategy != "hybrid":
            changed = [k for k in HYBRID_ONLY if getattr(self, k) != _default(SamplingConfig, k)]
            if changed:
                raise ConfigError(f"sampling.{changed[0]} is set but sampling.strategy={self.strategy!r} "
                                  "does not use it (only 'hybrid' mixes mono and cross batches); remove "
                                  f"{', '.join('sampling.' + k for k in changed)}")


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
    precision: str = field(default="auto", metadata=_help(
        "auto (bf16 on GPU and on CPUs with fast native bf16, else fp32), fp32, bf16 "
        "(bf16 autocast compute, fp32 master weights)"))
    seed: int = field(default=42, metadata=_help(
        "seed for init and dropout (the data split has its own: data.split_seed)"))
    select: str = field(default="best", metadata=_help(
        "the saved model: 'best' = lowest loss on the fixed validation batches, 'last' = after max_steps"))
    max_nonfinite_steps: int = field(default=3, metadata=_help(
        "a step with a NaN/inf loss or gradient norm is skipped (no update) and counted; this many in a "
        "row stop the run with an error (the last good checkpoint is kept)"))
    eval_every: int = field(default=50, metadata=_help("steps between validation losses (0 = only at end)"))
    save_every: int = field(default=50, metadata=_help("steps between resumable checkpoints (0 = off)"))
    keep_checkpoints: int = field(default=2, metadata=_help("resumable checkpoints kept while training"))
    keep_checkpoints_at_end: bool = field(default=False, metadata=_help(
        "keep checkpoints/ once the run has finished (false: delete it; the model and summary stay)"))
    early_stopping_patience: int = field(default=0, metadata=_help(
        "stop after this many evaluations without a better validation loss (0 = never)"))
    log_every: int = field(default=10, metadata=_help("steps between metrics.jsonl rows"))
    progress: bool = field(default=True, metadata=_help("show a tqdm progress bar"))

    def __post_init__(self) -> None:
        _choice("train.precision", self.precision, PRECISIONS)
        _choice("train.select", self.select, SELECTIONS)
        _at_least("train.temperature", self.temperature, 0.0, strict=True)
        _at_least("train.lr", self.lr, 0.0)
        _at_least("train.weight_decay", self.weight_decay, 0.0)
        _at_least("train.max_grad_norm", self.max_grad_norm, 0.0)
        for name in ("max_steps", "grad_accum", "log_every", "max_nonfinite_steps"):
            _at_least(f"train.{name}", getattr(self, name), 1)
        for name in ("warmup_steps", "grad_cache_chunk", "eval_every", "save_every", "keep_checkpoints",
                     "early_stopping_patience"):
            _at_least(f"train.{name}", getattr(self, name), 0)
        if self.select == "last" and self.early_stopping_patience:
            raise ConfigError("train.early_stopping_patience needs train.select=best "
                              "(with 'last' the step budget is fixed)")


def _default(klass: type, name: str) -> Any:
    f = klass.__dataclass_fields__[name]
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()


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
        """Validate ``raw`` (sections of keys); errors name ``source`` and the key."""
        raw = {} if raw is None else raw
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: expected a mapping of sections {sorted(SECTIONS)}, "
                              f"got {type(raw).__name__}")
        unknown = set(raw) - set(SECTIONS)
        if unknown:
            raise ConfigError(f"{source}: unknown section(s) {sorted(map(str, unknown))}; "
                              f"valid: {sorted(SECTIONS)}")
        return cls(**{name: _section(source, name, klass, raw.get(name)) for name, klass in SECTIONS.items()})


def _section(source: str, name: str, klass: type, values: Any) -> Any:
    """One validated section dataclass from its raw mapping (None = all defaults)."""
    values = {} if values is None else values
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: '{name}' must be a section (a mapping of keys), "
                          f"not the {type(values).__name__} {values!r}")
    valid = {f.name for f in dataclasses.fields(klass)}
    bad = sorted(str(k) for k in set(values) - valid)
    if bad:
        hints = [f"{name}.{k} was renamed to {RENAMED[f'{name}.{k}']}"
                 for k in bad if f"{name}.{k}" in RENAMED]
        raise ConfigError(f"{source}: unknown key(s) {[f'{name}.{k}' for k in bad]}; "
                          + (f"{'; '.join(hints)}; " if hints else "")
                          + f"valid keys of '{name}': {', '.join(sorted(valid))}")
    hints = typing.get_type_hints(klass)
    kwargs = {k: _coerce(f"{source}: {name}.{k}", v, hints[k]) for k, v in values.items()}
    try:
        return klass(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


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
        if isinstance(value, dict):
            raise ConfigError(f"{where}: expected a list, got the mapping {value!r}")
        items = value if isinstance(value, list) else [value]
        return [_coerce(where, v, args[0]) for v in items]
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):  # YAML 1.1 reads "1e-4" as a string
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"{where}: expected float, got {value!r}") from None
    if hint is str and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if hint in (int, float, str, bool) and type(value) is not hint:
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
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
            raise ConfigError(f"--set {item!r}: expected key=value, e.g. sampling.alpha=0.4")
        if key not in keys:
            hint = f"{key} was renamed to {RENAMED[key]}; " if key in RENAMED else ""
            raise ConfigError(f"--set {key!r}: unknown key; {hint}valid keys: {', '.join(sorted(keys))}")
        section, name = key.split(".", 1)
        try:
            nested.setdefault(section, {})[name] = (yaml.load(text, Loader=unique_key_loader())  # noqa: S506
                                                    if text.strip() else None)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {key}: invalid value {text!r}: {exc}") from None
    return nested


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read a YAML config (or the defaults when ``path`` is None) and apply dotted overrides.

    An empty file is an error (it would silently mean "all defaults"); so is a file that is not a
    mapping of sections.
    """
    raw = read_raw_config(path) if path is not None else {}
    source = str(path) if path is not None else "<defaults>"
    for section, values in parse_overrides(overrides or []).items():
        if raw.get(section) is None:
            raw[section] = {}
        if not isinstance(raw[section], dict):
            raise ConfigError(f"{source}: '{section}' must be a section (a mapping of keys), "
                              f"not {raw[section]!r}")
        raw[section].update(values)
    return ExperimentConfig.from_dict(raw, source=source)


def read_raw_config(path: str | Path) -> dict[str, Any]:
    """The YAML mapping in ``path`` (ConfigError when missing, unreadable, empty or not a mapping)."""
    raw = read_yaml(path)
    if raw is None:
        raise ConfigError(f"{path}: the config file is empty; give at least one section "
                          f"({', '.join(SECTIONS)})")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections {sorted(SECTIONS)}, "
                          f"got {type(raw).__name__}")
    return raw


def config_text(config: ExperimentConfig) -> str:
    import yaml

    return yaml.safe_dump(config.to_dict(), sort_keys=False)


def save_config(config: ExperimentConfig, path: str | Path) -> None:
    write_text(path, config_text(config))


def config_differences(old: ExperimentConfig, new: ExperimentConfig,
                       ignore: tuple[str, ...] = ()) -> list[str]:
    """Dotted keys whose values differ between two configs (``ignore``: keys not compared)."""
    a, b = old.to_dict(), new.to_dict()
    return [f"{s}.{k}" for s in a for k in a[s]
            if f"{s}.{k}" not in ignore and a[s][k] != b[s][k]]
