"""Check a model folder before any weight is used: the weights are exactly the ones the architecture needs.

:func:`check_weights` compares the tensor names and shapes in ``model.safetensors`` (or
``pytorch_model.bin``) with those of the architecture ``config.json`` describes (built on the meta
device: no memory, no random numbers): a missing tensor would be randomly initialised, a leftover one
means another architecture, a wrong shape another size. :func:`check_tokenizer` checks that every
token id the tokenizer can produce has a row in the word embeddings. Each problem is one
:class:`~polyret.errors.UserError` naming the folder and the first mismatch.

Tolerated leftovers: a pooler head (polyret pools itself) and ``position_ids`` buffers that older
checkpoints saved (recomputed by the model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from polyret.errors import UserError
from polyret.schemas import HFConfig, TokenizerJson, load_json, validate

TOLERATED_EXTRA = ("pooler.", "position_ids")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class ModelFolderError(UserError, ValueError):
    """A model folder whose files do not describe one consistent model."""


def read_config(folder: Path):
    """The folder's ``config.json`` as a transformers config (ModelFolderError when damaged)."""
    from transformers import AutoConfig

    path = folder / "config.json"
    raw = load_json(path, "model config")
    validate(HFConfig, raw, path, "Hugging Face model config")
    try:
        return AutoConfig.from_pretrained(folder)
    except (ValueError, KeyError, TypeError, OSError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFolderError(f"{path}: not a usable model config: {first[:200]}") from None


def weight_shapes(folder: Path) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape of the folder's weight file, read without loading the tensors."""
    path = next((folder / n for n in WEIGHT_FILES if (folder / n).is_file()), None)
    if path is None:
        raise ModelFolderError(f"{folder}: no weights ({' or '.join(WEIGHT_FILES)})")
    try:
        if path.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as handle:
                return {k: tuple(handle.get_slice(k).get_shape()) for k in handle.keys()}  # noqa: SIM118
        import torch

        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # noqa: BLE001 - safetensors / torch raise many types for a damaged file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFolderError(f"{path}: damaged weight file ({type(exc).__name__}: {first[:200]})") from None
    if not isinstance(state, dict) or not all(hasattr(v, "shape") for v in state.values()):
        raise ModelFolderError(f"{path}: not a state dict of tensors")
    return {str(k): tuple(v.shape) for k, v in state.items()}


def expected_shapes(config, pooler: bool) -> tuple[dict[str, tuple[int, ...]], str]:
    """Tensor name -> shape the architecture of ``config`` needs, and its base-model prefix."""
    import torch
    from transformers import AutoModel

    try:
        with torch.device("meta"):
            try:
                model = AutoModel.from_config(config, add_pooling_layer=pooler)
            except TypeError:
                model = AutoModel.from_config(config)
    except (ValueError, TypeError, KeyError, AttributeError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFolderError(f"cannot build the architecture its config.json describes: "
                               f"{first[:200]}") from None
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}, str(model.base_model_prefix or "")


def _tolerated(name: str) -> bool:
    return name.startswith(TOLERATED_EXTRA[0]) or name.endswith(TOLERATED_EXTRA[1])


def check_weights(folder: Path, config) -> bool:
    """Compare the weight file with the architecture; returns whether it holds a pooler head."""
    found = weight_shapes(folder)
    _, prefix = expected_shapes(config, pooler=False)
    if prefix and found and all(k.startswith(prefix + ".") for k in found):
        found = {k[len(prefix) + 1:]: v for k, v in found.items()}  # saved from a task model
    has_pooler = any(k.startswith("pooler.") for k in found)
    try:
        need, _ = expected_shapes(config, pooler=has_pooler)
    except ModelFolderError as exc:
        raise ModelFolderError(f"{folder}: {exc}") from None
    for name, shape in need.items():
        if name not in found:
            raise ModelFolderError(f"{folder}: the weights lack {name} {list(shape)} that config.json's "
                                   "architecture needs (it would be randomly initialised)")
        if found[name] != shape:
            raise ModelFolderError(f"{folder}: {name} has shape {list(found[name])} in the weights but "
                                   f"{list(shape)} in config.json's architecture")
    extra = [k for k in found if k not in need and not _tolerated(k)]
    if extra:
        raise ModelFolderError(f"{folder}: the weights hold {len(extra)} tensor(s) config.json's "
                               f"architecture has no place for, first {extra[0]} {list(found[extra[0]])} "
                               "(another model?)")
    return has_pooler


def check_tokenizer_file(folder: Path) -> None:
    """``tokenizer.json``, when present, must be a fast tokenizer's description (not ``{}``)."""
    path = folder / "tokenizer.json"
    if path.is_file():
        validate(TokenizerJson, load_json(path, "tokenizer"), path, "tokenizer.json")


def check_tokenizer(folder: Path, tokenizer: Any, config) -> None:
    """Every id the tokenizer can produce must have a row in the word embeddings."""
    rows = getattr(config, "vocab_size", None)
    if rows is None:
        return
    size = len(tokenizer)
    if size > rows:
        raise ModelFolderError(f"{folder}: the tokenizer has {size} tokens but the word embeddings have "
                               f"{rows} rows (config.json vocab_size): tokenizer and weights do not "
                               "belong together")
    specials = {name: getattr(tokenizer, f"{name}_token_id", None) for name in ("pad", "cls", "sep", "unk")}
    for name, token_id in specials.items():
        if token_id is not None and not 0 <= token_id < rows:
            raise ModelFolderError(f"{folder}: the tokenizer's {name} token id {token_id} is outside the "
                                   f"{rows} word embeddings")


def check_loading_info(folder: Path, info: dict) -> None:
    """transformers' own report after loading: anything missing, left over or resized is an error."""
    for key, what in (("missing_keys", "missing (randomly initialised)"),
                      ("mismatched_keys", "of another shape"), ("unexpected_keys", "not used")):
        names = sorted(str(k if isinstance(k, str) else k[0]) for k in info.get(key) or ())
        names = [n for n in names if not (key == "unexpected_keys" and _tolerated(n))]
        if names:
            raise ModelFolderError(f"{folder}: transformers reports {len(names)} weight(s) {what}, "
                                   f"first {names[0]}")
    if info.get("error_msgs"):
        raise ModelFolderError(f"{folder}: transformers could not load the weights: {info['error_msgs'][0]}")
