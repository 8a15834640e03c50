"""InfoNCE equals a direct re-computation of the paper's formula, with the model's similarity."""

from __future__ import annotations

import math

import pytest
import torch

from polyret.losses import InfoNCELoss, info_nce, model_similarity


def paper_loss(q, p, negs, tau, similarity="cos"):
    """-1/B sum_i log exp(s(q_i,p_i)/tau) / (sum_j exp(s(q_i,p_j)/tau) + sum_k exp(s(q_i,n_k)/tau))."""
    def cos(a, b):
        dot = float(a @ b)
        return dot if similarity == "dot" else dot / (float(a.norm()) * float(b.norm()))

    total = 0.0
    for i in range(len(q)):
        num = math.exp(cos(q[i], p[i]) / tau)
        den = sum(math.exp(cos(q[i], p[j]) / tau) for j in range(len(p)))
        den += sum(math.exp(cos(q[i], n) / tau) for n in negs)
        total += -math.log(num / den)
    return total / len(q)


@pytest.mark.parametrize("tau", [1.0, 0.05])
@pytest.mark.parametrize("h", [0, 2])
def test_info_nce_matches_the_formula(tau, h):
    g = torch.Generator().manual_seed(0)
    B, D = 6, 16
    q = torch.randn(B, D, generator=g, dtype=torch.float64)
    p = q + 2.0 * torch.randn(B, D, generator=g, dtype=torch.float64)  # positives near their queries
    n = torch.randn(B * h, D, generator=g, dtype=torch.float64) if h else None
    loss, stats = info_nce(q.float(), p.float(), None if n is None else n.float(), tau=tau)
    expected = paper_loss(q, p, [] if n is None else list(n), tau)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # accuracy: share of queries whose own positive outscores every other candidate
    cands = p if n is None else torch.cat([p, n])
    cos = torch.nn.functional.normalize(q, dim=-1) @ torch.nn.functional.normalize(cands, dim=-1).T
    assert stats["accuracy"] == pytest.approx((cos.argmax(1) == torch.arange(B)).double().mean().item())
    assert 0.0 < stats["accuracy"] < 1.0  # random data: neither all right nor all wrong
    assert stats["pos_cos"] == pytest.approx(cos.diagonal().mean().item(), abs=1e-6)


@pytest.mark.parametrize("h", [0, 2])
def test_dot_similarity_matches_the_formula_and_differs_from_cosine(h):
    g = torch.Generator().manual_seed(4)
    B, D = 6, 16
    q = 0.3 * torch.randn(B, D, generator=g, dtype=torch.float64)  # not unit length
    p = 0.3 * torch.randn(B, D, generator=g, dtype=torch.float64)
    n = 0.3 * torch.randn(B * h, D, generator=g, dtype=torch.float64) if h else None
    loss, _ = info_nce(q.float(), p.float(), None if n is None else n.float(), tau=0.5, similarity="dot")
    assert loss.item() == pytest.approx(paper_loss(q, p, [] if n is None else list(n), 0.5, "dot"), rel=1e-5)
    cos_loss, _ = info_nce(q.float(), p.float(), None if n is None else n.float(), tau=0.5)
    assert abs(cos_loss.item() - loss.item()) > 1e-3
    module = InfoNCELoss(0.5, similarity="dot")(q.float(), p.float(), None if n is None else n.float())[0]
    assert module.item() == loss.item()
    with pytest.raises(ValueError, match="similarity"):
        InfoNCELoss(0.5, similarity="l2")


def test_model_similarity_follows_the_saved_model(tmp_path):
    """A model saved with ``normalize: false`` is trained with the dot product; e5-style with cosine."""
    from dataclasses import replace

    from polyret.modeling.encoder import BiEncoder
    from polyret.modeling.tiny import tiny_bi_encoder

    words = "what is the capital of france paris".split()
    cos_model = tiny_bi_encoder(words)
    assert model_similarity(cos_model) == "cos"
    dot_model = tiny_bi_encoder(words)
    dot_model.config = replace(dot_model.config, normalize=False)
    dot_model.save(tmp_path / "dot")
    loaded = BiEncoder.load(tmp_path / "dot")
    assert loaded.config.normalize is False and model_similarity(loaded) == "dot"

    class Wrapped(torch.nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

    assert model_similarity(Wrapped(loaded)) == "dot" and model_similarity(torch.nn.Linear(2, 2)) == "cos"


def test_symmetric_term_is_mean_of_both_directions():
    g = torch.Generator().manual_seed(1)
    q, p = torch.randn(5, 8, generator=g), torch.randn(5, 8, generator=g)
    sym, _ = info_nce(q, p, tau=0.1, symmetric=True)
    qp, _ = info_nce(q, p, tau=0.1)
    pq, _ = info_nce(p, q, tau=0.1)
    assert sym.item() == pytest.approx((qp.item() + pq.item()) / 2, rel=1e-6)


def test_accuracy_and_perfect_alignment():
    e = torch.eye(4)
    loss, stats = info_nce(e, e, tau=0.05)
    assert stats["accuracy"] == 1.0 and loss.item() < 1e-6
    _, stats = info_nce(e, e.roll(1, dims=0), tau=0.05)
    assert stats["accuracy"] == 0.0


def test_offset_selects_positives_in_a_global_batch():
    g = torch.Generator().manual_seed(2)
    q, p = torch.randn(6, 8, generator=g), torch.randn(6, 8, generator=g)
    full, _ = info_nce(q, p, tau=0.2)
    a, _ = info_nce(q[:3], p, tau=0.2, offset=0)
    b, _ = info_nce(q[3:], p, tau=0.2, offset=3)
    assert full.item() == pytest.approx((a.item() + b.item()) / 2, rel=1e-6)


def test_loss_module_single_process_equals_function():
    g = torch.Generator().manual_seed(3)
    q, p = torch.randn(4, 8, generator=g), torch.randn(4, 8, generator=g)
    assert InfoNCELoss(0.05)(q, p)[0].item() == info_nce(q, p, tau=0.05)[0].item()
