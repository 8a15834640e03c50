"""The on-disk embedding cache: hits skip encoding, corrupted shards are detected and recomputed."""

from __future__ import annotations

import numpy as np
import pytest

from polyret.retrieval.cache import CacheCorruptionWarning, EmbeddingCache

TEXTS = ["paris is the capital of france", "the dog is fast", "blue sky", "green tree"]


class CountingModel:
    """Wraps a BiEncoder and counts texts that reach the network."""

    def __init__(self, model):
        self.model, self.encoded = model, 0
        original = model._encode_uncached

        def counting(texts, *args, **kwargs):
            self.encoded += len(texts)
            return original(texts, *args, **kwargs)

        model._encode_uncached = counting


def test_second_encode_is_served_from_cache(tiny_model, tmp_path):
    cache = EmbeddingCache(tmp_path)
    counter = CountingModel(tiny_model)
    first = tiny_model.encode(TEXTS, side="passage", cache=cache)
    assert counter.encoded == 4
    second = tiny_model.encode(TEXTS[::-1] + ["new text here"], side="passage", cache=cache)
    assert counter.encoded == 5  # only the new text
    np.testing.assert_array_equal(second[:4], first[::-1])
    np.testing.assert_allclose(second[4], tiny_model.encode(["new text here"], side="passage")[0], atol=1e-6)


def test_cache_keys_separate_side_and_model(tiny_model, tmp_path):
    import torch

    cache = EmbeddingCache(tmp_path)
    counter = CountingModel(tiny_model)
    tiny_model.encode(TEXTS, side="passage", cache=cache)
    tiny_model.encode(TEXTS, side="query", cache=cache)
    assert counter.encoded == 8
    with torch.no_grad():
        tiny_model.backbone.embeddings.word_embeddings.weight.add_(0.01)  # "trained": new fingerprint
    tiny_model.encode(TEXTS, side="query", cache=cache)
    assert counter.encoded == 12


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_corrupted_shard_warns_and_recomputes(tiny_model, tmp_path, damage):
    cache = EmbeddingCache(tmp_path)
    ref = tiny_model.encode(TEXTS, side="passage", cache=cache)
    (shard,) = tmp_path.rglob("shard-*.npz")
    data = bytearray(shard.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[len(data) - 200] ^= 0xFF  # inside the embeddings member: zip CRC mismatch
    else:
        data = bytearray(b"not a zip file at all")
    shard.write_bytes(bytes(data))
    counter = CountingModel(tiny_model)
    with pytest.warns(CacheCorruptionWarning, match="unreadable"):
        out = tiny_model.encode(TEXTS, side="passage", cache=EmbeddingCache(tmp_path))
    assert counter.encoded == 4
    np.testing.assert_allclose(out, ref, atol=1e-6)
    assert not shard.exists() and len(list(tmp_path.rglob("shard-*.npz"))) == 1


def test_add_checks_lengths(tmp_path):
    with pytest.raises(ValueError, match="2 texts but 1 embeddings"):
        EmbeddingCache(tmp_path).add("fp", "query", ["a", "b"], np.zeros((1, 4), np.float32))
