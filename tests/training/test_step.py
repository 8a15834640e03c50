"""The training step's switches: frozen token embeddings and the precision context."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from polyret.losses import InfoNCELoss
from polyret.modeling.tiny import tiny_bi_encoder
from polyret.training.data import BatchTexts
from polyret.training.step import contrastive_step, freeze_token_embeddings, precision_context

WORDS = "what is the capital of france paris germany berlin spain madrid river city blue sky".split()
TEXTS = BatchTexts(["what is the capital of france", "what is the capital of spain",
                    "what is the river of berlin"],
                   ["paris is the capital of france", "madrid is the capital of spain",
                    "the river city berlin"], [])


class _Wrapper(nn.Module):  # what DDP / accelerate put around a model
    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module


@pytest.mark.parametrize("wrap", ["bi_encoder", "hf_model", "ddp_like"])
def test_freeze_token_embeddings_counts_and_freezes_only_the_table(wrap):
    model = tiny_bi_encoder(WORDS)
    table = model.backbone.embeddings.word_embeddings.weight
    target = {"bi_encoder": model, "hf_model": model.backbone, "ddp_like": _Wrapper(model)}[wrap]
    n = freeze_token_embeddings(target)
    assert n == table.numel() == len(model.tokenizer) * 32
    assert not table.requires_grad
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert "backbone.embeddings.position_embeddings.weight" in trainable
    assert all("word_embeddings" not in name for name in trainable)


def test_frozen_table_stays_put_while_the_rest_trains():
    model = tiny_bi_encoder(WORDS)
    model.eval()
    freeze_token_embeddings(model)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    contrastive_step(model, InfoNCELoss(0.05), TEXTS, model.tokenize)
    opt.step()
    after = dict(model.named_parameters())
    table = "backbone.embeddings.word_embeddings.weight"
    assert torch.equal(after[table], before[table]) and after[table].grad is None
    moved = [k for k in before if k != table and not torch.equal(after[k], before[k])]
    assert len(moved) > 10


def test_freeze_rejects_a_model_without_token_embeddings():
    with pytest.raises(TypeError, match="no token embedding table"):
        freeze_token_embeddings(nn.Linear(3, 3))


def test_precision_context_bf16_autocasts_and_fp32_does_not():
    a, b = torch.randn(4, 8), torch.randn(8, 2)
    with precision_context("bf16", "cpu"):
        assert (a @ b).dtype == torch.bfloat16
    with precision_context("bf16", torch.device("cpu")):
        assert (a @ b).dtype == torch.bfloat16
    with precision_context("fp32", "cpu"):
        assert (a @ b).dtype == torch.float32
    assert (a @ b).dtype == torch.float32  # nothing leaks out of the context


@pytest.mark.parametrize("bad", ["auto", "fp16", "bfloat16"])
def test_precision_context_rejects_unresolved_names(bad):
    with pytest.raises(ValueError, match="precision must be one of"):
        precision_context(bad, "cpu")


def test_bf16_step_matches_fp32_closely():
    """Same model, same batch: the bf16-autocast loss is the fp32 loss to bf16 accuracy."""
    losses = {}
    for precision in ("fp32", "bf16"):
        model = tiny_bi_encoder(WORDS)
        model.eval()
        with precision_context(precision, "cpu"):
            losses[precision], _ = contrastive_step(model, InfoNCELoss(0.05), TEXTS, model.tokenize)
    assert losses["bf16"] == pytest.approx(losses["fp32"], abs=0.05)
    assert losses["bf16"] != losses["fp32"]  # it did run in bf16


def test_replay_leaves_the_global_rng_where_it_was():
    """Replaying a saved RNG state (GradCache's dropout replay) must not rewind the global RNG."""
    from polyret.training.step import _replayed_rng, _rng_state

    torch.manual_seed(0)
    saved = _rng_state(torch.device("cpu"))
    first = torch.rand(3)
    after = torch.get_rng_state()
    with _replayed_rng(saved, torch.device("cpu")):
        assert torch.equal(torch.rand(3), first)  # the replay sees the saved stream
    assert torch.equal(torch.get_rng_state(), after)  # and the global stream continues unrewound


def test_grad_cache_step_moves_the_rng_like_one_embedding_pass():
    """With dropout on, the RNG after a GradCache step is where the first (no-graph) pass left it."""
    from polyret.training.step import _rows, tokenize_batch

    model = tiny_bi_encoder(WORDS)
    model.train()
    torch.manual_seed(11)
    contrastive_step(model, InfoNCELoss(0.05), TEXTS, model.tokenize, grad_cache_chunk=2)
    got = torch.rand(4)
    feats = tokenize_batch(TEXTS, model.tokenize)
    torch.manual_seed(11)
    with torch.no_grad():
        for side in (feats.queries, feats.passages):
            for lo in range(0, side["input_ids"].shape[0], 2):
                model(_rows(side, lo, lo + 2))
    assert torch.equal(got, torch.rand(4))


def test_pretokenized_batch_gives_the_same_step():
    """BatchFeatures (tokenised once, e.g. in a DataLoader worker) == BatchTexts tokenised in the step."""
    from polyret.training.step import tokenize_batch

    texts = BatchTexts(TEXTS.queries, TEXTS.passages, ["berlin river city", "blue sky", "paris city",
                                                       "madrid river", "spain city", "the capital"])
    grads = []
    for batch in (texts, tokenize_batch(texts, tiny_bi_encoder(WORDS).tokenize)):
        model = tiny_bi_encoder(WORDS)
        model.eval()
        loss, _ = contrastive_step(model, InfoNCELoss(0.05), batch, model.tokenize)
        grads.append((loss, [p.grad.clone() for p in model.parameters() if p.grad is not None]))
    assert grads[0][0] == grads[1][0]
    for a, b in zip(grads[0][1], grads[1][1], strict=True):
        assert torch.equal(a, b)
    feats = tokenize_batch(texts, tiny_bi_encoder(WORDS).tokenize)
    assert feats.n_pos == 3 and feats.passages["input_ids"].shape[0] == 9


def test_grad_cache_chunks_are_trimmed_to_their_own_length():
    from polyret.training.step import _rows

    ids = torch.tensor([[1, 2, 3, 0, 0], [1, 2, 0, 0, 0], [1, 2, 3, 4, 5]])
    feats = {"input_ids": ids, "attention_mask": (ids > 0).long()}
    assert _rows(feats, 0, 2)["input_ids"].tolist() == [[1, 2, 3], [1, 2, 0]]
    assert _rows(feats, 2, 3)["input_ids"].shape == (1, 5)


def test_length_buckets_cover_every_row_once_and_only_split_when_it_pays():
    from polyret.training.step import length_buckets

    same = torch.full((32,), 128)
    assert [b.tolist() for b in length_buckets(same)] == [list(range(32))]  # nothing to gain
    assert len(length_buckets(torch.arange(1, 8))) == 1  # too few rows for two buckets of 8
    varied = torch.tensor([10, 40, 12, 11, 35, 9, 14, 13] * 4)
    buckets = length_buckets(varied)
    assert 2 <= len(buckets) <= 4 and all(len(b) >= 8 for b in buckets)
    assert sorted(torch.cat(buckets).tolist()) == list(range(32))
    assert max(varied[buckets[-1]]) <= min(varied[buckets[0]])  # longest first


def test_bucketed_embedding_equals_one_padded_forward():
    """Length buckets change padding only: same embeddings and gradients as one padded forward."""
    from polyret.training.step import embed, length_buckets

    words = WORDS + [f"w{i}" for i in range(40)]
    texts = [" ".join(words[: 3 + (i * 7) % 30]) for i in range(24)]
    model = tiny_bi_encoder(words)
    model.eval()
    feats = model.tokenize(texts, "passage")
    assert len(length_buckets(feats["attention_mask"].sum(1))) > 1  # the case under test
    weights = torch.randn(24, 32, generator=torch.Generator().manual_seed(0))
    (model(feats) * weights).sum().backward()
    ref = [p.grad.clone() for p in model.parameters()]
    ref_emb = model(feats).detach()
    model.zero_grad()
    emb = embed(model, feats, buckets=True)
    torch.testing.assert_close(emb.detach(), ref_emb, atol=1e-5, rtol=1e-4)
    (emb * weights).sum().backward()
    for got, want in zip([p.grad for p in model.parameters()], ref, strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_trimming_keeps_left_padded_rows_whole():
    from polyret.training.step import _rows

    ids = torch.tensor([[0, 0, 1, 2], [0, 1, 2, 3]])
    feats = {"input_ids": ids, "attention_mask": (ids > 0).long()}
    assert torch.equal(_rows(feats, 0, 2)["input_ids"], ids)
