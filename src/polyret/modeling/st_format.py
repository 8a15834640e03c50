"""Save and load a :class:`BiEncoder` in sentence-transformers' folder format.

A saved folder loads in ``sentence_transformers.SentenceTransformer(path)`` and any
sentence-transformers folder loads here::

    modules.json                     Transformer (path "") -> 1_Pooling -> 2_Normalize (if normalising)
    config.json, model.safetensors   the Hugging Face backbone
    tokenizer.json, tokenizer_config.json
    sentence_bert_config.json        {"max_seq_length": max(query, passage), "do_lower_case": false}
    1_Pooling/config.json            legacy ``pooling_mode_*`` keys (read by every ST version)
    2_Normalize/                     present when embeddings are L2-normalised
    config_sentence_transformers.json  prompts {"query": ..., "passage": ..., "document": ...}
    polyret.json                     the full EncoderConfig (per-side max lengths); wins when present
    README.md                        a model card (settings, how to load, the max-length note)

Every file is written atomically. This module builds no BiEncoder itself (``BiEncoder.load`` calls
:func:`read_st_folder`), so imports point one way: encoder -> st_format -> config.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from pathlib import Path
from typing import Any

from polyret.atomic import write_json, write_text
from polyret.modeling.config import EncoderConfig
from polyret.modeling.verify import ModelFolderError as UserError
from polyret.modeling.verify import (
    check_loading_info,
    check_tokenizer,
    check_tokenizer_file,
    check_weights,
    read_config,
)

log = logging.getLogger(__name__)

POLYRET_CONFIG = "polyret.json"
MODEL_CARD = "README.md"
_POOLING_KEYS = {"cls": "pooling_mode_cls_token", "mean": "pooling_mode_mean_tokens"}
_ST_TYPES = {
    "transformer": "sentence_transformers.models.Transformer",
    "pooling": "sentence_transformers.models.Pooling",
    "normalize": "sentence_transformers.models.Normalize",
}


class MaxLengthWarning(UserWarning):
    """sentence-transformers will truncate both sides to one length; polyret uses two."""


def st_max_length_note(cfg: EncoderConfig) -> str | None:
    """What differs when the folder is used in sentence-transformers (None: nothing)."""
    if cfg.max_query_length == cfg.max_passage_length:
        return None
    return (f"sentence-transformers truncates queries and passages alike, to max_seq_length="
            f"{max(cfg.max_query_length, cfg.max_passage_length)}; polyret truncates queries to "
            f"{cfg.max_query_length} and passages to {cfg.max_passage_length} tokens, so texts longer than "
            "the shorter limit embed differently there (set st.max_seq_length per side to match)")


def trained_model_card(folder: str | Path, config: dict[str, Any], summary: dict[str, Any]) -> Path:
    """Replace the model card of a finished training run's folder with one that names the trained
    model (the folder) and its recipe: base model, data, batch strategy, steps, the selected step."""
    folder = Path(folder)
    model, data, sampling, train = (config.get(k, {}) for k in ("model", "data", "sampling", "train"))
    strategy = sampling.get("strategy", "?")
    if strategy == "hybrid":
        strategy += f" (alpha = {sampling.get('alpha')}, mono share of batches)"
    recipe = {
        "base model": model.get("name"),
        "training data": ", ".join(data.get("train_data", [])) + f" ({', '.join(data.get('languages', []))})",
        "batch strategy": strategy,
        "batch size": sampling.get("batch_size"),
        "steps": train.get("max_steps"),
        "learning rate": train.get("lr"),
        "temperature": train.get("temperature"),
        "max lengths (query / passage tokens)": f"{model.get('max_query_length')} / "
                                                f"{model.get('max_passage_length')}",
        "seeds (train / sampler)": f"{train.get('seed')} / {sampling.get('seed')}",
        "saved": summary.get("saved", f"select = {train.get('select')}"),
    }
    rows = "\n".join(f"| {k} | {v} |" for k, v in recipe.items() if v not in (None, ""))
    card = (folder / MODEL_CARD).read_text(encoding="utf-8") if (folder / MODEL_CARD).is_file() else ""
    front, sep, rest = card.partition("\n# ")  # front matter | old title line + the rest
    body = rest.partition("\n")[2] if sep else ""
    title = (f"# {folder.name}\n\nA retriever fine-tuned with polyret from {model.get('name')} "
             f"({strategy} batches); the resolved training config is `config.yaml` beside this file.\n\n"
             f"| training recipe | |\n|---|---|\n{rows}\n")
    return Path(write_text(folder / MODEL_CARD, (front + "\n" if sep else "") + title + body))


def _model_kwargs(backbone) -> dict[str, Any]:
    """Arguments that make sentence-transformers build the backbone as polyret does (no pooler head:
    without this it builds an untrained one and prints a "LOAD REPORT" of missing keys)."""
    params = inspect.signature(type(backbone).__init__).parameters
    return {"add_pooling_layer": False} if "add_pooling_layer" in params else {}


def model_card(model, st_note: str | None) -> str:
    """A short README.md: what the folder is, how to load it in polyret and sentence-transformers."""
    cfg = model.config
    rows = "\n".join(f"| {k} | `{v!r}` |" for k, v in cfg.to_dict().items())
    note = f"\n**Note:** {st_note}.\n" if st_note else ""
    similarity = "L2-normalised (cosine)" if cfg.normalize else "not normalised (dot product)"
    return f"""---
library_name: sentence-transformers
tags: [sentence-transformers, feature-extraction, sentence-similarity, polyret]
pipeline_tag: sentence-similarity
---

# {Path(str(model.source or "polyret-model")).name}

A bi-encoder saved by polyret (source: `{model.source or "unknown"}`);
{model.dim}-dimensional embeddings, {cfg.pooling} pooling, {similarity}.

| setting | value |
|---|---|
{rows}

```bash
polyret embed --model path/to/this/folder --input queries.txt --side query --output q.npy
polyret evaluate --model path/to/this/folder --task beir/scifact
```

```python
from sentence_transformers import SentenceTransformer
st = SentenceTransformer("path/to/this/folder")
q = st.encode(["how tall is the eiffel tower"], prompt_name="query")
```
{note}"""


def save_st_folder(model, path: str | Path) -> Path:
    """Write ``model`` (a BiEncoder: ``backbone``, ``tokenizer``, ``config``, ``dim``) to ``path``
    in sentence-transformers' format plus ``polyret.json`` and a model card (``README.md``).

    sentence-transformers has one ``max_seq_length``; when the two sides differ it gets the larger,
    a :class:`MaxLengthWarning` says so and the card and ``polyret.json`` record it."""
    import sentence_transformers
    import torch
    import transformers

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    cfg = model.config
    max_len = max(cfg.max_query_length, cfg.max_passage_length)
    note = st_max_length_note(cfg)
    if note:
        warnings.warn(note, MaxLengthWarning, stacklevel=3)  # no path: shown once, not per checkpoint
    model.backbone.save_pretrained(path, safe_serialization=True)
    previous = model.tokenizer.model_max_length
    model.tokenizer.model_max_length = max_len  # what sentence-transformers truncates to
    try:
        model.tokenizer.save_pretrained(path)
    finally:
        model.tokenizer.model_max_length = previous
    modules = [{"idx": 0, "name": "0", "path": "", "type": _ST_TYPES["transformer"]},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": _ST_TYPES["pooling"]}]
    if cfg.normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": _ST_TYPES["normalize"]})
        (path / "2_Normalize").mkdir(exist_ok=True)
    write_json(path / "modules.json", modules)
    st_cfg: dict[str, Any] = {"max_seq_length": max_len, "do_lower_case": False}
    if _model_kwargs(model.backbone):
        st_cfg["model_args"] = _model_kwargs(model.backbone)
    write_json(path / "sentence_bert_config.json", st_cfg)
    pooling = {"word_embedding_dimension": model.dim}
    pooling.update({key: cfg.pooling == mode for mode, key in _POOLING_KEYS.items()})
    pooling.update({"pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False})
    write_json(path / "1_Pooling" / "config.json", pooling)
    write_json(path / "config_sentence_transformers.json", {
        "__version__": {"sentence_transformers": sentence_transformers.__version__,
                        "transformers": transformers.__version__, "pytorch": torch.__version__},
        "prompts": {"query": cfg.query_prefix, "passage": cfg.passage_prefix,
                    "document": cfg.passage_prefix},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine" if cfg.normalize else "dot",
    })
    write_json(path / POLYRET_CONFIG, {"encoder_config": cfg.to_dict(), "format_version": 1,
                                       "sentence_transformers_max_seq_length": max_len,
                                       "sentence_transformers_note": note})
    write_text(path / MODEL_CARD, model_card(model, note))
    return path


def _read(path: Path, model, what: str):
    """``path`` validated as ``model`` (None when absent); damage is one UserError naming the file."""
    from polyret.schemas import read_json_file

    return read_json_file(path, model, what) if path.is_file() else None


def _pooling_mode(cfg, path: Path) -> str:
    mode = cfg.pooling_mode
    if mode is None:
        flags = {k: v for k, v in cfg.model_dump().items() if k.startswith("pooling_mode_")}
        active = [m for m, key in _POOLING_KEYS.items() if flags.get(key) is True]
        others = [k for k, v in flags.items() if v is True and k not in _POOLING_KEYS.values()]
        if others or len(active) != 1:
            raise UserError(f"{path}: unsupported pooling configuration (polyret supports mean or cls; "
                            f"set: {', '.join(others + [_POOLING_KEYS[a] for a in active]) or 'none'})")
        return active[0]
    if mode == "mean_tokens":
        mode = "mean"
    if mode not in _POOLING_KEYS:
        raise UserError(f"{path}: unsupported pooling mode {mode!r} (polyret supports mean or cls)")
    return mode


def _encoder_config(values: dict, path: Path) -> EncoderConfig:
    try:
        return EncoderConfig(**values)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{path}: {exc}") from None


def config_from_st_folder(path: Path) -> tuple[EncoderConfig, str]:
    """The EncoderConfig of a sentence-transformers folder and the backbone sub-folder ("" = root)."""
    from polyret.schemas import (
        PolyretModelConfig,
        PoolingConfig,
        SentenceBertConfig,
        STConfig,
        STModules,
        TokenizerConfig,
    )

    modules_file = _read(path / "modules.json", STModules, "sentence-transformers modules.json")
    polyret_cfg = _read(path / POLYRET_CONFIG, PolyretModelConfig, "polyret model config")
    own = (_encoder_config(polyret_cfg.encoder_config.model_dump(), path / POLYRET_CONFIG)
           if polyret_cfg else None)
    if modules_file is None:  # plain Hugging Face folder: mean pooling + normalisation, no prefixes
        return own or EncoderConfig(), ""
    modules = modules_file.root
    kinds = {m.type.rsplit(".", 1)[-1].lower(): m for m in modules}
    backbone = kinds["transformer"].path if "transformer" in kinds else ""
    if not _inside(path, backbone):
        raise UserError(f"{path / 'modules.json'}: the Transformer module's path {backbone!r} leaves "
                        "the folder")
    if own is not None:
        return own, backbone
    unknown = set(kinds) - {"transformer", "pooling", "normalize"}
    if unknown:
        raise UserError(f"{path / 'modules.json'}: sentence-transformers modules {sorted(unknown)} are not "
                        "supported")
    pooling = "mean"
    if "pooling" in kinds:
        pooling_file = path / kinds["pooling"].path / "config.json"
        if not _inside(path, kinds["pooling"].path):
            raise UserError(f"{path / 'modules.json'}: the Pooling module's path leaves the folder")
        pooling = _pooling_mode(_read(pooling_file, PoolingConfig, "pooling config") or PoolingConfig(),
                                pooling_file)
    st_cfg = _read(path / backbone / "sentence_bert_config.json", SentenceBertConfig,
                   "sentence_bert_config.json") or SentenceBertConfig()
    max_len = st_cfg.max_seq_length
    if max_len is None:
        tok_cfg = _read(path / backbone / "tokenizer_config.json", TokenizerConfig,
                        "tokenizer_config.json") or TokenizerConfig()
        limit = tok_cfg.model_max_length
        max_len = 512 if limit is None or not limit >= 2 else int(min(limit, 512))
    prompts = (_read(path / "config_sentence_transformers.json", STConfig,
                     "config_sentence_transformers.json") or STConfig()).prompts or {}
    passage = prompts.get("passage", prompts.get("document", ""))
    return _encoder_config(dict(pooling=pooling, normalize="normalize" in kinds,
                                query_prefix=prompts.get("query", ""), passage_prefix=passage,
                                max_query_length=int(max_len), max_passage_length=int(max_len)),
                           path / "sentence_bert_config.json"), backbone


def _inside(root: Path, sub: str) -> bool:
    return (root / sub).resolve().is_relative_to(root.resolve())


def read_st_folder(path: str | Path):
    """(backbone, tokenizer, EncoderConfig) of a sentence-transformers / polyret / Hugging Face folder.

    The folder is verified first (:mod:`polyret.modeling.verify`): every tensor the architecture of
    ``config.json`` needs is present with its shape, none is left over, the tokenizer fits the word
    embeddings; transformers' own loading report is checked again after loading. Nothing is silenced."""
    path = Path(path)
    cfg, sub = config_from_st_folder(path)
    backbone_dir = path / sub
    config = read_config(backbone_dir)
    has_pooler = check_weights(backbone_dir, config)
    check_tokenizer_file(backbone_dir)
    tokenizer = _load_tokenizer(backbone_dir)
    check_tokenizer(backbone_dir, tokenizer, config)
    backbone = _load_backbone(backbone_dir, config, has_pooler)
    return backbone, tokenizer, cfg


def _load_tokenizer(folder: Path):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(folder)
    except Exception as exc:  # noqa: BLE001 - tokenizers raise many types on damaged files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{folder}: cannot load the tokenizer ({type(exc).__name__}: "
                        f"{first[:200]})") from None


def _load_backbone(folder: Path, config, has_pooler: bool):
    """The backbone without a pooler head (polyret pools itself); a saved pooler is loaded, then dropped,
    so that transformers has nothing to report as unused."""
    from transformers import AutoModel

    try:
        backbone, info = AutoModel.from_pretrained(folder, config=config, add_pooling_layer=has_pooler,
                                                   output_loading_info=True)
    except TypeError:
        backbone, info = AutoModel.from_pretrained(folder, config=config, output_loading_info=True)
    check_loading_info(folder, info)
    if getattr(backbone, "pooler", None) is not None:
        backbone.pooler = None
    return backbone
