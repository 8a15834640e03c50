"""Schemas (pydantic) of the JSON files polyret reads besides datasets and results; YAML and names.

:func:`read_json_file` reads a file and validates it against one of the models below; any damage
(unreadable, not JSON, wrong shape, wrong type) is one :class:`~polyret.errors.UserError` line naming
the file and the first offending key. Callers that can recompute a file (a cell's record) catch it.

Models allow extra keys (files gain fields over versions) but type every field polyret uses.
:func:`read_yaml` parses YAML with a SafeLoader that refuses duplicate keys; :func:`check_name` keeps
anything that becomes part of a path to :data:`NAME_PATTERN`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)

from polyret.errors import ConfigError, UserError

T = TypeVar("T", bound=BaseModel)
# Experiment and arm names become folder names: letters, digits, '-' and '_'; a '.' only between two of
# them (the shipped alpha sweep's arms are ``alpha-0.25``): never '/', '\\', a leading '.', '..' or spaces.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# ------------------------------------------------------------------ model folders
class HFConfig(_Open):
    """A Hugging Face ``config.json`` (the rest is checked by ``AutoConfig``)."""

    model_type: StrictStr


class STModule(_Open):
    idx: StrictInt | None = None
    name: StrictStr | None = None
    path: StrictStr
    type: StrictStr


class STModules(RootModel[list[STModule]]):
    """``modules.json``: the sentence-transformers pipeline."""


class PoolingConfig(_Open):
    word_embedding_dimension: StrictInt | None = None
    pooling_mode: StrictStr | None = None
    pooling_mode_cls_token: StrictBool = False
    pooling_mode_mean_tokens: StrictBool = False
    pooling_mode_max_tokens: StrictBool = False
    pooling_mode_mean_sqrt_len_tokens: StrictBool = False


class SentenceBertConfig(_Open):
    max_seq_length: StrictInt | None = Field(default=None, gt=1)
    do_lower_case: StrictBool = False


class STConfig(_Open):
    """``config_sentence_transformers.json`` (only the prompts are read)."""

    prompts: dict[StrictStr, StrictStr] | None = None


class TokenizerConfig(_Open):
    model_max_length: int | float | None = None


class PolyretModelConfig(_Open):
    """``polyret.json``: the full EncoderConfig."""

    class Encoder(BaseModel):
        model_config = ConfigDict(extra="forbid")
        pooling: Literal["mean", "cls"] = "mean"
        normalize: StrictBool = True
        query_prefix: StrictStr = ""
        passage_prefix: StrictStr = ""
        max_query_length: StrictInt = Field(default=64, ge=2)
        max_passage_length: StrictInt = Field(default=256, ge=2)

    encoder_config: Encoder
    format_version: StrictInt = 1


class TokenizerJson(_Open):
    """``tokenizer.json`` of a fast tokenizer: a model with a vocabulary at least."""

    class Model(_Open):
        type: StrictStr | None = None
        vocab: Any

    model: Model


# ------------------------------------------------------------------ training runs
class TrainSummary(_Open):
    """``train_summary.json``, written last by a finished training run."""

    status: StrictStr
    steps: StrictInt = Field(ge=0)
    best_step: StrictInt = -1
    best_val_loss: float | None = None


# ------------------------------------------------------------------ experiment folders
class CellFile(_Open):
    """``cells/<id>/cell.json`` (:class:`polyret.experiment.layout.CellRecord`)."""

    cell_id: StrictStr
    arm: StrictStr
    kind: Literal["trained", "reference"]
    seed: StrictInt | None = None
    strategy: StrictStr | None = None
    alpha: float | None = None
    status: Literal["pending", "trained", "done"] = "pending"
    config: dict[StrictStr, Any] = Field(default_factory=dict)
    train_summary: dict[StrictStr, Any] | None = None
    timings: dict[StrictStr, Any] = Field(default_factory=dict)
    machine: dict[StrictStr, Any] = Field(default_factory=dict)
    code: dict[StrictStr, Any] = Field(default_factory=dict)
    reused_from: dict[StrictStr, Any] | None = None
    weights: StrictStr | None = None  # the weights fingerprint (polyret.runner.identity)


class ManifestCell(_Open):
    arm: StrictStr | None = None
    seed: StrictInt | None = None
    status: StrictStr | None = None
    timings: dict[StrictStr, Any] = Field(default_factory=dict)


class Manifest(_Open):
    """``manifest.json`` of an experiment folder."""

    experiment: StrictStr
    created: StrictStr | None = None
    data_fingerprints: dict[StrictStr, Any] = Field(default_factory=dict)
    cells: dict[StrictStr, ManifestCell] = Field(default_factory=dict)


class PreregTask(_Open):
    class Subset(_Open):
        query_ids: list[StrictStr]

    subsets: dict[StrictStr, Subset]


class Preregistration(_Open):
    """A pre-registration file (``docs/preregistration/*.json``, ``OUT/preregistration.json``)."""

    prereg_version: StrictInt
    experiment: StrictStr
    tasks: dict[StrictStr, PreregTask] = Field(default_factory=dict)
    comparisons: list[dict[StrictStr, Any]] = Field(default_factory=list)
    subsets: list[StrictStr] = Field(default_factory=list)


# ------------------------------------------------------------------ reading
def first_problem(error: ValidationError) -> str:
    """``key.path: message`` of the first validation error (one line)."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    got = first.get("input")
    shown = repr(got) if not isinstance(got, dict | list) else type(got).__name__
    return f"{where}: {first['msg']} (got {shown[:60]})"


def validate(model: type[T], data: Any, source: str | Path, what: str) -> T:
    """``data`` as ``model``, or one UserError line naming ``source`` and the first bad key."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"{source}: not a valid {what}: {first_problem(exc)}") from None


def load_json(path: str | Path, what: str) -> Any:
    """A JSON file's content; missing, unreadable, not UTF-8 or not JSON: one UserError line."""
    path = Path(path)
    try:
        return json.loads(path.read_bytes().decode("utf-8").removeprefix("\ufeff"))
    except FileNotFoundError:
        raise UserError(f"{path}: missing ({what})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: damaged {what}: not UTF-8 at byte {exc.start}") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        detail = (f"line {exc.lineno}: {exc.msg}" if isinstance(exc, json.JSONDecodeError)
                  else "nested too deep")
        raise UserError(f"{path}: damaged {what}: not JSON ({detail})") from None


def read_json_file(path: str | Path, model: type[T], what: str) -> T:
    """Read and validate ``path`` (see :func:`load_json` and :func:`validate`)."""
    return validate(model, load_json(path, what), path, what)


# ------------------------------------------------------------------ names and YAML
def check_name(where: str, name: Any, what: str) -> str:
    """``name`` when it is a string of letters, digits, '-' and '_' (it becomes part of a path)."""
    if not isinstance(name, str):
        hint = f" (write it quoted, \"{name}\", if that is the name you mean)" if isinstance(
            name, int | float | bool) else ""
        raise ConfigError(f"{where}: {what} {name!r} is a {type(name).__name__}, not a string{hint}")
    if not NAME_PATTERN.match(name):
        raise ConfigError(f"{where}: {what} {name!r} may hold only letters, digits, '-', '_' "
                          "and a '.' between them (it becomes a folder name)")
    return name


def unique_names(where: str, raw: Any, what: str) -> list[str]:
    """Names checked by :func:`check_name`, unique even ignoring case (case-insensitive file systems)."""
    names = [check_name(where, name, what) for name in raw]
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(name.casefold(), name)
        if other != name:
            raise ConfigError(f"{where}: {other!r} and {name!r} differ only in case (their folders "
                              "would collide on a case-insensitive file system)")
    return names


def unique_key_loader():
    """A ``yaml.SafeLoader`` subclass that refuses a mapping key given twice (PyYAML keeps the last)."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                    seen.setdefault(key, key_node.start_mark.line + 1)
                except TypeError:  # an unhashable key: the base class reports it
                    continue
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first on line {first})", key_node.start_mark)
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def load_yaml_text(text: str, source: str) -> Any:
    """Parse YAML ``text`` (safe tags only, duplicate keys refused); one ConfigError naming
    ``source`` and the line on failure."""
    import yaml

    try:
        return yaml.load(text, Loader=unique_key_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else str(source)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None


def read_yaml(path: str | Path) -> Any:
    """A YAML file's content; every failure is one ConfigError naming the file and, where there is
    one, the line (a leading BOM is dropped; a key given twice in one mapping is an error)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: cannot read the config file: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}:{line}: invalid UTF-8 (byte 0x{data[exc.start]:02x})") from None
    return load_yaml_text(text, str(path))
