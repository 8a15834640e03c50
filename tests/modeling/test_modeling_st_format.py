"""sentence-transformers folder format: polyret -> ST and ST -> polyret with the tiny model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polyret.modeling.encoder import BiEncoder, EncoderConfig
from polyret.modeling.st_format import config_from_st_folder

TEXTS = ["what is the capital of france", "paris is the capital city of france", "the dog is fast"]


def _st(path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device="cpu")


def test_saved_folder_has_st_files(tiny_model, tmp_path):
    tiny_model.save(tmp_path)
    modules = json.loads((tmp_path / "modules.json").read_text())
    assert [m["path"] for m in modules] == ["", "1_Pooling", "2_Normalize"]
    assert json.loads((tmp_path / "sentence_bert_config.json").read_text())["max_seq_length"] == 64
    assert json.loads((tmp_path / "1_Pooling" / "config.json").read_text())["pooling_mode_mean_tokens"]
    prompts = json.loads((tmp_path / "config_sentence_transformers.json").read_text())["prompts"]
    assert prompts["query"] == "query: " and prompts["passage"] == "passage: "
    assert json.loads((tmp_path / "polyret.json").read_text())["encoder_config"]["max_query_length"] == 32


def test_polyret_model_loads_in_sentence_transformers(tiny_model, tmp_path):
    tiny_model.save(tmp_path)
    st = _st(tmp_path)
    for side in ("query", "passage"):
        np.testing.assert_allclose(st.encode(TEXTS, prompt_name=side), tiny_model.encode(TEXTS, side=side),
                                   atol=1e-5)


def test_sentence_transformers_model_loads_in_polyret(tiny_model, tmp_path):
    tiny_model.save(tmp_path / "a")
    st = _st(tmp_path / "a")
    st.save(str(tmp_path / "b"))  # written by sentence-transformers itself (its current format)
    (tmp_path / "b" / "polyret.json").unlink(missing_ok=True)
    loaded = BiEncoder.load(tmp_path / "b")
    assert loaded.config.pooling == "mean" and loaded.config.normalize
    assert loaded.config.query_prefix == "query: " and loaded.config.passage_prefix == "passage: "
    for side in ("query", "passage"):
        np.testing.assert_allclose(loaded.encode(TEXTS, side=side), st.encode(TEXTS, prompt_name=side),
                                   atol=1e-5)


def test_roundtrip_keeps_full_config_including_cls_pooling(tmp_path):
    from polyret.modeling.tiny import tiny_bi_encoder

    cfg = EncoderConfig(pooling="cls", normalize=False, query_prefix="Q: ", passage_prefix="P: ",
                        max_query_length=12, max_passage_length=40)
    model = tiny_bi_encoder(" ".join(TEXTS).split(), seed=1, config=cfg)
    model.save(tmp_path)
    assert not (tmp_path / "2_Normalize").exists()
    loaded = BiEncoder.load(tmp_path)
    assert loaded.config == cfg
    np.testing.assert_allclose(loaded.encode(TEXTS, side="query"), model.encode(TEXTS, side="query"),
                               atol=1e-6)
    np.testing.assert_allclose(_st(tmp_path).encode(TEXTS, prompt_name="passage"),
                               model.encode(TEXTS, side="passage"), atol=1e-5)


def test_legacy_st_folder_config(tmp_path):
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": 8, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}))
    (tmp_path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 77}))
    cfg, sub = config_from_st_folder(tmp_path)
    assert sub == "" and cfg.pooling == "cls" and not cfg.normalize
    assert cfg.max_query_length == cfg.max_passage_length == 77 and cfg.query_prefix == ""


def test_unsupported_st_pooling_is_a_clear_error(tmp_path):
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode": "max"}))
    with pytest.raises(ValueError, match="supports mean or cls"):
        config_from_st_folder(tmp_path)


def test_export_records_the_single_st_length_writes_a_card_and_loads_quietly(tiny_model, tmp_path, caplog):
    import logging

    from polyret.modeling.st_format import MaxLengthWarning

    with pytest.warns(MaxLengthWarning, match="queries to 32 and passages to 64"):
        tiny_model.save(tmp_path)
    info = json.loads((tmp_path / "polyret.json").read_text())
    assert info["sentence_transformers_max_seq_length"] == 64
    assert "queries to 32" in info["sentence_transformers_note"]
    card = (tmp_path / "README.md").read_text()
    assert "SentenceTransformer(" in card and "queries to 32" in card and "| pooling | `'mean'` |" in card
    with caplog.at_level(logging.WARNING):
        st = _st(tmp_path)
    assert "LOAD REPORT" not in caplog.text  # no untrained pooler head built and reported missing
    assert not hasattr(st[0].auto_model, "pooler") or st[0].auto_model.pooler is None


def test_equal_lengths_export_without_warning(tmp_path):
    import warnings

    from polyret.modeling.tiny import tiny_bi_encoder

    cfg = EncoderConfig(max_query_length=40, max_passage_length=40)
    model = tiny_bi_encoder(" ".join(TEXTS).split(), config=cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.save(tmp_path)
    assert json.loads((tmp_path / "polyret.json").read_text())["sentence_transformers_note"] is None
