"""Model folders are verified before use: the weights are exactly those the config's architecture needs,
the tokenizer fits the embeddings, and damaged metadata is one line naming the file (issue 21, item 1)."""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from polyret.errors import UserError
from polyret.modeling import load_model
from polyret.modeling.st_format import MaxLengthWarning
from polyret.modeling.tiny import tiny_bi_encoder

WORDS = ["alpha", "beta", "gamma", "delta", "river", "mountain"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny") / "model"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MaxLengthWarning)
        tiny_bi_encoder(WORDS, dropout=0.0).save(folder)
    return folder


@pytest.fixture
def folder(saved, tmp_path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(saved, copy)
    return copy


def _edit_config(folder: Path, **changes) -> None:
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(changes)
    (folder / "config.json").write_text(json.dumps(cfg))


def _edit_weights(folder: Path, edit) -> None:
    state = load_file(folder / "model.safetensors")
    edit(state)
    save_file(state, folder / "model.safetensors")


def _refused(folder: Path, *needles: str) -> str:
    with pytest.raises(UserError) as info:
        load_model(folder, device="cpu")
    text = str(info.value)
    assert "\n" not in text and str(folder) in text, text
    for needle in needles:
        assert needle in text, text
    return text


def test_an_intact_folder_loads_and_encodes_like_the_saved_model(saved):
    model = load_model(saved, device="cpu")
    again = load_model(saved, device="cpu")
    a, b = model.encode(["alpha river"]), again.encode(["alpha river"])
    assert a.shape == (1, 32) and torch.allclose(torch.from_numpy(a), torch.from_numpy(b))


def test_config_with_more_layers_than_the_weights_is_refused_not_randomly_initialised(folder):
    _edit_config(folder, num_hidden_layers=4)  # the weights have 2: layers 2-3 would be random
    _refused(folder, "encoder.layer.2.", "randomly initialised")


def test_missing_tensor_is_refused(folder):
    _edit_weights(folder, lambda s: s.pop("encoder.layer.1.output.dense.weight"))
    _refused(folder, "encoder.layer.1.output.dense.weight")


def test_left_over_tensor_is_refused(folder):
    _edit_weights(folder, lambda s: s.update({"encoder.layer.2.output.dense.weight": torch.zeros(32, 64)}))
    _refused(folder, "encoder.layer.2.output.dense.weight", "no place")


def test_tensor_of_another_shape_is_refused(folder):
    _edit_weights(folder, lambda s: s.update({"encoder.layer.0.intermediate.dense.bias": torch.zeros(65)}))
    _refused(folder, "encoder.layer.0.intermediate.dense.bias", "[65]", "[64]")


def test_config_hidden_size_disagreeing_with_weights_is_refused(folder):
    _edit_config(folder, hidden_size=64, intermediate_size=128)
    _refused(folder, "shape")


def test_tokenizer_larger_than_the_embeddings_is_refused(folder):
    rows = len(WORDS) + 5
    _edit_config(folder, vocab_size=rows - 2)
    _edit_weights(folder, lambda s: s.update({"embeddings.word_embeddings.weight":
                                              s["embeddings.word_embeddings.weight"][: rows - 2]}))
    _refused(folder, "tokenizer has", "rows")


@pytest.mark.parametrize(("name", "content", "needle"), [
    ("config.json", "{not json", "not JSON"),
    ("config.json", "[1, 2]", "config.json"),
    ("config.json", '{"model_type": 3}', "model_type"),
    ("modules.json", '{"a": 1}', "modules.json"),
    ("modules.json", '[{"idx": 0}]', "modules.json"),
    ("tokenizer.json", "{}", "tokenizer.json"),
    ("polyret.json", '{"encoder_config": {"pooling": "max"}}', "polyret.json"),
    ("polyret.json", "null", "polyret.json"),
    ("1_Pooling/config.json", '{"pooling_mode_mean_tokens": "yes"}', "config.json"),
    ("sentence_bert_config.json", '{"max_seq_length": "long"}', "sentence_bert_config.json"),
])
def test_damaged_metadata_is_one_line_naming_the_file(folder, name, content, needle):
    (folder / name).write_text(content)
    if name.startswith(("1_Pooling", "sentence_bert")):
        (folder / "polyret.json").unlink()  # these are read only without polyret.json
    _refused(folder, needle)


@pytest.mark.parametrize("damage", ["header_length", "header_json", "truncated", "empty"])
def test_damaged_safetensors_header_is_one_line(folder, damage):
    path = folder / "model.safetensors"
    data = path.read_bytes()
    if damage == "header_length":
        data = (2**60).to_bytes(8, "little") + data[8:]
    elif damage == "header_json":
        data = data[:8] + b"{" * 16 + data[24:]
    elif damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data = b""
    path.write_bytes(data)
    _refused(folder, "model.safetensors")


def test_loading_never_turns_transformers_logging_down(saved, monkeypatch):
    from transformers.utils import logging as hf_logging

    def refuse(*args):
        raise AssertionError("transformers' warnings were silenced while loading")

    hf_logging.set_verbosity_warning()
    monkeypatch.setattr(hf_logging, "set_verbosity_error", refuse)
    monkeypatch.setattr(hf_logging, "set_verbosity", refuse)
    load_model(saved, device="cpu")
    assert hf_logging.get_verbosity() == logging.WARNING  # nothing turned down, nothing hidden


@pytest.mark.slow
def test_real_e5_folder_whose_config_says_24_layers_is_refused(tmp_path):
    from polyret.modeling.registry import e5_folder

    folder = tmp_path / "e5"
    shutil.copytree(e5_folder(), folder)
    _edit_config(folder, num_hidden_layers=24)
    _refused(folder, "encoder.layer.12.", "randomly initialised")
