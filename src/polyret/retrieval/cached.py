"""Encoding through the on-disk embedding cache: a wrapper around a model, as MTEB does.

The model (``polyret.modeling.encoder.BiEncoder``) knows nothing of caches. Here the cache key is
built from what decides an embedding -- the model's fingerprint, the precision actually used and
the side's max length (plus the side) -- cached rows are read back, only the rest is encoded, and
new rows are stored. Cached rows that are damaged, not finite or of the wrong width are dropped
(and recomputed) by :class:`~polyret.retrieval.cache.EmbeddingCache`.
"""

from __future__ import annotations

import numpy as np

from polyret.retrieval.cache import EmbeddingCache


def precision_used(model, precision: str | None) -> str:
    """What ``model.encode(..., precision=precision)`` will run in (``fp32`` / ``bf16``)."""
    if precision is None:
        return getattr(model, "inference_precision", "fp32")
    from polyret.hardware import resolve_precision

    return resolve_precision(precision, model.device)


def cache_key(model, side: str, precision: str | None = None) -> str:
    """``<fingerprint>-<fp32|bf16>-L<max length of the side>``."""
    return f"{model.fingerprint()}-{precision_used(model, precision)}-L{model.max_length(side)}"


def resolve_cache(cache: EmbeddingCache | bool | None) -> EmbeddingCache | None:
    """``True``: the default cache folder; ``False`` / ``None``: no cache."""
    if cache is True:
        return EmbeddingCache()
    return cache or None


def encode_cached(model, texts: list[str], side: str, *, cache: EmbeddingCache | bool | None = True,
                  batch_size: int = 32, max_tokens: int | None = None, show_progress: bool | None = None,
                  precision: str | None = None) -> np.ndarray:
    """``model.encode`` with the embedding cache; (N, D) float32 in input order."""
    store = resolve_cache(cache)
    options = {"batch_size": batch_size, "max_tokens": max_tokens, "show_progress": show_progress,
               "precision": precision}
    if store is None:
        return model.encode(texts, side=side, **options)
    texts = list(texts)
    key = cache_key(model, side, precision)
    found, missing = store.lookup(key, side, texts, dim=model.dim)
    if missing:
        todo = [texts[i] for i in missing]
        new = model.encode(todo, side=side, **options)  # (M, D), finite (checked by encode)
        store.add(key, side, todo, new)
        for j, i in enumerate(missing):
            found[i] = new[j]
    if not texts:
        return np.zeros((0, model.dim), dtype=np.float32)
    return np.stack([found[i] for i in range(len(texts))]).astype(np.float32, copy=False)


class CachedEncoder:
    """``model`` whose ``encode`` goes through the cache; every other attribute is the model's."""

    def __init__(self, model, cache: EmbeddingCache | bool | None = True):
        self.model = model
        self.cache = resolve_cache(cache)

    def encode(self, texts: list[str], side: str = "passage", batch_size: int = 32, **options) -> np.ndarray:
        return encode_cached(self.model, texts, side, cache=self.cache, batch_size=batch_size, **options)

    def __getattr__(self, name: str):
        return getattr(self.model, name)
