"""The on-disk embedding cache: hits skip encoding, corrupted shards are detected and recomputed."""

from __future__ import annotations

import numpy as np
import pytest

from polyret.retrieval.cache import CacheCorruptionWarning, CacheWriteWarning, EmbeddingCache
from polyret.retrieval.cached import CachedEncoder, cache_key, encode_cached

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
    first = encode_cached(tiny_model, TEXTS, "passage", cache=cache)
    assert counter.encoded == 4
    second = encode_cached(tiny_model, TEXTS[::-1] + ["new text here"], "passage", cache=cache)
    assert counter.encoded == 5  # only the new text
    np.testing.assert_array_equal(second[:4], first[::-1])
    np.testing.assert_allclose(second[4], tiny_model.encode(["new text here"], side="passage")[0], atol=1e-6)


def test_cache_keys_separate_side_and_model(tiny_model, tmp_path):
    import torch

    cache = EmbeddingCache(tmp_path)
    counter = CountingModel(tiny_model)
    encode_cached(tiny_model, TEXTS, "passage", cache=cache)
    encode_cached(tiny_model, TEXTS, "query", cache=cache)
    assert counter.encoded == 8
    with torch.no_grad():
        tiny_model.backbone.embeddings.word_embeddings.weight.add_(0.01)  # "trained": new fingerprint
    encode_cached(tiny_model, TEXTS, "query", cache=cache)
    assert counter.encoded == 12


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_corrupted_shard_warns_and_recomputes(tiny_model, tmp_path, damage):
    cache = EmbeddingCache(tmp_path)
    ref = encode_cached(tiny_model, TEXTS, "passage", cache=cache)
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
        out = encode_cached(tiny_model, TEXTS, "passage", cache=EmbeddingCache(tmp_path))
    assert counter.encoded == 4
    np.testing.assert_allclose(out, ref, atol=1e-6)
    assert not shard.exists() and len(list(tmp_path.rglob("shard-*.npz"))) == 1


def test_add_checks_lengths(tmp_path):
    with pytest.raises(ValueError, match="2 texts but 1 embeddings"):
        EmbeddingCache(tmp_path).add("fp", "query", ["a", "b"], np.zeros((1, 4), np.float32))


def _one_shard(tmp_path):
    (shard,) = tmp_path.rglob("shard-*.npz")
    return shard


@pytest.mark.parametrize("bad", ["nan", "width"])
def test_shard_with_nan_or_wrong_width_is_removed_and_recomputed(tiny_model, tmp_path, bad):
    ref = encode_cached(tiny_model, TEXTS, "passage", cache=EmbeddingCache(tmp_path))
    shard = _one_shard(tmp_path)
    with np.load(shard) as z:
        keys, emb = z["keys"], z["emb"]
    emb = emb.copy()
    if bad == "nan":
        emb[1, 3] = np.nan
    else:
        emb = emb[:, :16]  # a 16-column shard for a 32-dim model
    np.savez(shard.with_suffix(""), keys=keys, emb=emb)  # np.savez adds .npz back
    counter = CountingModel(tiny_model)
    with pytest.warns(CacheCorruptionWarning, match="NaN" if bad == "nan" else "16 wide"):
        out = encode_cached(tiny_model, TEXTS, "passage", cache=EmbeddingCache(tmp_path))
    assert out.shape == (4, tiny_model.dim) and counter.encoded == 4
    np.testing.assert_allclose(out, ref, atol=1e-6)
    assert not shard.exists()


def test_unwritable_cache_warns_once_and_the_run_carries_on(tiny_model, tmp_path, monkeypatch):
    import errno

    from polyret.retrieval import cache as cache_module

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_module, "atomic_write", full_disk)
    store = EmbeddingCache(tmp_path)
    with pytest.warns(CacheWriteWarning, match="No space left") as record:
        a = encode_cached(tiny_model, TEXTS, "passage", cache=store)
        b = encode_cached(tiny_model, TEXTS[:2], "query", cache=store)
    assert len([w for w in record if w.category is CacheWriteWarning]) == 1
    np.testing.assert_allclose(a, tiny_model.encode(TEXTS, side="passage"), atol=1e-6)
    assert b.shape == (2, tiny_model.dim) and not list(tmp_path.rglob("shard-*.npz"))


def test_cache_key_holds_precision_and_max_length(tiny_model, tmp_path):
    import dataclasses

    key = cache_key(tiny_model, "passage")
    assert key.endswith("-fp32-L64") and cache_key(tiny_model, "query").endswith("-fp32-L32")
    assert cache_key(tiny_model, "passage", "bf16").endswith("-bf16-L64")
    store, counter = EmbeddingCache(tmp_path), CountingModel(tiny_model)
    fp32 = encode_cached(tiny_model, TEXTS, "passage", cache=store)
    bf16 = encode_cached(tiny_model, TEXTS, "passage", cache=store, precision="bf16")
    assert counter.encoded == 8 and not np.array_equal(fp32, bf16)  # not served the fp32 rows
    tiny_model.config = dataclasses.replace(tiny_model.config, max_passage_length=8)
    assert cache_key(tiny_model, "passage").endswith("-L8") and cache_key(tiny_model, "passage") != key


def test_cached_encoder_wraps_the_model(tiny_model, tmp_path):
    wrapped = CachedEncoder(tiny_model, EmbeddingCache(tmp_path))
    counter = CountingModel(tiny_model)
    wrapped.encode(TEXTS, side="query")
    wrapped.encode(TEXTS, side="query")
    assert counter.encoded == 4 and wrapped.dim == tiny_model.dim


def test_opening_a_cache_removes_stale_leftovers_of_killed_writes(tmp_path):
    import os

    root = tmp_path / "cache"
    folders = [root, root / "model-abc", root / "model-abc" / "query", root / "model-abc" / "passage"]
    stale, recent = [], []
    for i, folder in enumerate(folders):
        folder.mkdir(parents=True, exist_ok=True)
        old, new = folder / f".tmp-shard-{i}.npz-old", folder / f".tmp-shard-{i}.npz-new"
        old.write_bytes(b"half")
        new.write_bytes(b"half")
        os.utime(old, (1, 1))
        stale.append(old)
        recent.append(new)
    cache = EmbeddingCache(root)
    assert cache.removed_leftovers == 4
    assert not any(p.exists() for p in stale) and all(p.exists() for p in recent)
    assert EmbeddingCache(tmp_path / "missing").removed_leftovers == 0


@pytest.mark.parametrize("tamper", ["edited_value", "swapped_rows", "other_side", "no_checksum"])
def test_tampered_but_valid_shard_is_detected_and_recomputed(tiny_model, tmp_path, tamper):
    ref = encode_cached(tiny_model, TEXTS, "passage", cache=EmbeddingCache(tmp_path))
    shard = _one_shard(tmp_path)
    with np.load(shard) as z:
        keys, emb, check = z["keys"], z["emb"].copy(), z["check"]
    if tamper == "edited_value":
        emb[2, 0] += 0.25  # finite, right width: only the checksum can tell
    elif tamper == "swapped_rows":
        emb[[0, 1]] = emb[[1, 0]]
    if tamper == "other_side":  # a passage shard copied into the query folder
        target = tmp_path / cache_key(tiny_model, "query") / "query" / shard.name
        target.parent.mkdir(parents=True)
        shard.rename(target)
        shard = target
        ref = tiny_model.encode(TEXTS, side="query")
    elif tamper == "no_checksum":
        np.savez(shard.with_suffix(""), keys=keys, emb=emb)
    else:
        np.savez(shard.with_suffix(""), keys=keys, emb=emb, check=check)
    side = "query" if tamper == "other_side" else "passage"
    counter = CountingModel(tiny_model)
    with pytest.warns(CacheCorruptionWarning, match="checksum"):
        out = encode_cached(tiny_model, TEXTS, side, cache=EmbeddingCache(tmp_path))
    assert counter.encoded == 4 and not shard.exists()
    np.testing.assert_allclose(out, ref, atol=1e-6)
