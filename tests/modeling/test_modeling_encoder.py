"""BiEncoder.encode: order, batching, truncation / empty-text warnings, fingerprint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from polyret.modeling.encoder import EmptyTextWarning, TruncationWarning, length_batches

TEXTS = [
    "what is the capital of france",
    "paris",
    "the river in the city is blue and the sky is blue",
    "dog",
    "who is fast and who is slow in the house of the cat",
    "germany berlin",
]


def _reference(model, texts, side):
    """Unsorted, one text at a time through forward() (eval mode: no dropout)."""
    model.eval()
    with torch.no_grad():
        return np.concatenate([model(model.tokenize([t], side)).numpy() for t in texts])


def test_encode_matches_forward_and_keeps_input_order(tiny_model):
    ref = _reference(tiny_model, TEXTS, "query")
    out = tiny_model.encode(TEXTS, side="query", batch_size=4)
    assert out.dtype == np.float32 and out.shape == (len(TEXTS), tiny_model.dim)
    np.testing.assert_allclose(out, ref, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("batch_size,max_tokens", [(1, None), (3, None), (64, None), (64, 20), (64, 1)])
def test_batching_does_not_change_embeddings(tiny_model, batch_size, max_tokens):
    ref = tiny_model.encode(TEXTS, side="passage", batch_size=2)
    out = tiny_model.encode(TEXTS, side="passage", batch_size=batch_size, max_tokens=max_tokens)
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_sides_use_their_prefix(tiny_model):
    q = tiny_model.encode(["paris"], side="query")
    p = tiny_model.encode(["paris"], side="passage")
    assert not np.allclose(q, p)
    ids_q, _ = tiny_model.token_ids(["paris"], "query")
    assert tiny_model.tokenizer.convert_ids_to_tokens(ids_q[0])[1] == "query"


def test_length_batches_respect_budget_and_cover_everything():
    lengths = np.array([5, 50, 3, 50, 7, 1, 20])
    batches = length_batches(lengths, batch_size=3, max_tokens=60)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    firsts = [int(lengths[b[0]]) for b in batches]
    assert firsts == sorted(firsts, reverse=True)
    for b in batches:
        assert len(b) <= 3
        assert len(b) == 1 or len(b) * lengths[b].max() <= 60
    with pytest.raises(ValueError, match="batch_size"):
        length_batches(lengths, batch_size=0)


def test_truncation_is_counted_and_warned_once(tiny_model):
    long = " ".join(["blue"] * 200)
    with pytest.warns(TruncationWarning, match="2 of 3 passage texts") as record:
        out = tiny_model.encode([long, "paris", long + " sky"], side="passage")
    assert len([w for w in record if issubclass(w.category, TruncationWarning)]) == 1
    assert tiny_model.last_encode_stats["truncated"] == 2
    ids, n = tiny_model.token_ids([long], "passage")
    assert n == 1 and len(ids[0]) == tiny_model.max_length("passage")
    assert np.isfinite(out).all()


def test_empty_texts_are_embedded_with_a_warning(tiny_model):
    with pytest.warns(EmptyTextWarning, match="2 of 3"):
        out = tiny_model.encode(["", "paris", "   "], side="query")
    assert np.isfinite(out).all()
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert tiny_model.encode([], side="query").shape == (0, tiny_model.dim)


def test_bad_arguments_are_rejected(tiny_model):
    with pytest.raises(TypeError, match="list of texts"):
        tiny_model.encode("paris")
    with pytest.raises(TypeError, match="text 1 is int"):
        tiny_model.encode(["paris", 3])
    with pytest.raises(ValueError, match="side must be"):
        tiny_model.encode(["paris"], side="document")
    with pytest.raises(ValueError, match="precision"):
        tiny_model.encode(["paris"], precision="int8")


def test_encode_restores_training_mode(tiny_model):
    tiny_model.train()
    tiny_model.encode(["paris"])
    assert tiny_model.training


def test_fingerprint_is_stable_and_tracks_weights_and_config(tiny_model):
    import dataclasses

    fp = tiny_model.fingerprint()
    assert fp == tiny_model.fingerprint()
    with torch.no_grad():  # what an optimiser step does: every weight of a tensor moves
        tiny_model.backbone.encoder.layer[1].output.dense.weight.mul_(1.001)
    fp2 = tiny_model.fingerprint()
    assert fp2 != fp
    tiny_model.config = dataclasses.replace(tiny_model.config, query_prefix="q: ")
    assert tiny_model.fingerprint() != fp2


def test_bf16_weights_encode_close_and_fp32_comes_back_exactly(tiny_model):
    from polyret.modeling.encoder import set_inference_precision

    original = {k: v.clone() for k, v in tiny_model.backbone.state_dict().items()}
    ref, fp = tiny_model.encode(TEXTS), tiny_model.fingerprint()
    assert set_inference_precision(tiny_model, "bf16") == "bf16"
    assert tiny_model.inference_precision == "bf16"
    assert next(tiny_model.backbone.parameters()).dtype == torch.bfloat16  # weights, not autocast
    out = tiny_model.encode(TEXTS)
    assert out.dtype == np.float32 and tiny_model.last_encode_stats["precision"] == "bf16"
    cos = (out * ref).sum(1) / np.linalg.norm(out, axis=1) / np.linalg.norm(ref, axis=1)
    assert cos.min() > 0.99 and not np.array_equal(out, ref)
    assert tiny_model.fingerprint() == fp  # the model's identity does not change with its precision
    assert set_inference_precision(tiny_model, "fp32") == "fp32"
    for k, v in tiny_model.backbone.state_dict().items():
        assert v.dtype == original[k].dtype and torch.equal(v, original[k]), k  # not bf16 rounded back
    np.testing.assert_array_equal(tiny_model.encode(TEXTS), ref)


def test_precision_for_one_call_restores_the_weights(tiny_model):
    ref = tiny_model.encode(TEXTS)
    out = tiny_model.encode(TEXTS, precision="bf16")
    assert tiny_model.inference_precision == "fp32" and not np.array_equal(out, ref)
    np.testing.assert_array_equal(tiny_model.encode(TEXTS, precision="fp32"), ref)


def test_non_finite_embeddings_are_refused(tiny_model):
    from polyret.errors import NonFiniteError

    with torch.no_grad():
        tiny_model.backbone.encoder.layer[0].output.dense.bias.fill_(float("nan"))
    with pytest.raises(NonFiniteError, match="6 of 6 embeddings contain NaN"):
        tiny_model.encode(TEXTS)


def test_fingerprint_does_not_depend_on_the_folder(tiny_model, tmp_path):
    from polyret.modeling.encoder import BiEncoder

    tiny_model.save(tmp_path / "a")
    tiny_model.save(tmp_path / "b")
    assert BiEncoder.load(tmp_path / "a").fingerprint() == BiEncoder.load(tmp_path / "b").fingerprint()


def test_tokenisation_in_chunks_gives_the_same_result(tiny_model, monkeypatch):
    from polyret.modeling import encoder

    long = " ".join(["blue"] * 100)
    texts = TEXTS + [long, long + " sky"]
    with pytest.warns(TruncationWarning):
        ref = tiny_model.encode(texts, side="passage")
    monkeypatch.setattr(encoder, "TOKENIZE_CHUNK", 3)
    with pytest.warns(TruncationWarning, match="2 of 8"):
        out = tiny_model.encode(texts, side="passage", batch_size=2)
    np.testing.assert_allclose(out, ref, atol=1e-5)
