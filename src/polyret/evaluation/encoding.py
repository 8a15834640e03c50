"""The model side of an evaluation: load it, apply the evaluation's lengths and precision, encode.

:func:`evaluation_settings` applies ``EvalConfig.max_query_length`` / ``max_passage_length`` and
``precision`` to a dense model for the duration of one evaluation and restores the model afterwards
(its config; the precision is applied per ``encode`` call, which restores the fp32 weights exactly),
so a model evaluated in bf16 is the same fp32 model again for the next caller. It yields what was
used, which goes in the result (``EvalResult.settings``).

:func:`encode_texts` refuses non-finite embeddings (:class:`polyret.errors.NonFiniteError`): a
diverged model must not be scored as if its metrics were merely low.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np

from polyret.evaluation.config import EvalConfig
from polyret.modeling.encoder import check_finite
from polyret.retrieval.retriever import BM25, Retriever, is_lexical

LENGTHS = ("max_query_length", "max_passage_length")


def load_retriever(name: str) -> Retriever:
    """The retriever a name stands for: ``"bm25"`` -> :data:`BM25`, else a model name/folder
    (``polyret.modeling.registry.load_model``)."""
    if name == BM25.name:
        return BM25
    from polyret.modeling.registry import load_model

    return load_model(name)


def model_info(model, name: str | None = None) -> dict[str, Any]:
    """What identifies the retriever in a result (name, kind, encoder config, source)."""
    if is_lexical(model):
        return {"name": model.name, "kind": "bm25"}
    info: dict[str, Any] = {"name": name or getattr(model, "name", type(model).__name__), "kind": "dense"}
    cfg = getattr(model, "config", None)
    if cfg is not None and hasattr(cfg, "to_dict"):
        info["encoder_config"] = cfg.to_dict()
    for attr in ("name_or_path", "source", "path"):
        if getattr(model, attr, None) is not None:
            info[attr] = str(getattr(model, attr))
    return info


@contextlib.contextmanager
def evaluation_settings(model, config: EvalConfig) -> Iterator[dict[str, Any]]:
    """Apply the evaluation's lengths to ``model`` and resolve its precision; yield what is used.

    The model's config is restored afterwards; the precision is applied per ``encode`` call
    (``BiEncoder.encode(precision=...)`` casts the weights and restores them exactly).
    """
    if is_lexical(model):
        yield {"kind": "bm25"}
        return
    from polyret.hardware import precision_record

    record = precision_record(config.precision, getattr(model, "device", "cpu"))
    old_config = model.config
    lengths = {n: getattr(config, n) for n in LENGTHS if getattr(config, n) is not None}
    model.config = dataclasses.replace(old_config, **lengths)
    try:
        yield {
            **{n: int(getattr(model.config, n)) for n in LENGTHS},
            "lengths_from": {n: "evaluation" if n in lengths else "model" for n in LENGTHS},
            "precision": record,
        }
    finally:
        model.config = old_config


def encode_texts(
    model, texts: list[str], side: str, batch_size: int, cache: bool = True, precision: str | None = None
) -> np.ndarray:
    """(N, D) float32 embeddings through the embedding cache (:func:`polyret.retrieval.cached.encode_cached`,
    keyed by fingerprint, precision and the side's max length), refusing NaN/inf."""
    from polyret.retrieval.cached import encode_cached

    emb = encode_cached(model, texts, side, cache=cache, batch_size=batch_size, show_progress=True,
                        precision=precision)  # (N, D)
    return check_finite(np.asarray(emb, dtype=np.float32), f"{side} embeddings of {len(texts)} texts")
