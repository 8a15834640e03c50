"""InfoNCE equals a direct re-computation of the paper's formula."""

from __future__ import annotations

import math

import pytest
import torch

from polyret.losses import InfoNCELoss, info_nce


def paper_loss(q, p, negs, tau):
    """-1/B sum_i log exp(cos(q_i,p_i)/tau) / (sum_j exp(cos(q_i,p_j)/tau) + sum_k exp(cos(q_i,n_k)/tau))."""
    def cos(a, b):
        return float(a @ b) / (float(a.norm()) * float(b.norm()))

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
    p = torch.randn(B, D, generator=g, dtype=torch.float64)
    n = torch.randn(B * h, D, generator=g, dtype=torch.float64) if h else None
    loss, stats = info_nce(q.float(), p.float(), None if n is None else n.float(), tau=tau)
    expected = paper_loss(q, p, [] if n is None else list(n), tau)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert 0.0 <= stats["accuracy"] <= 1.0


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
