"""InfoNCE with in-batch and hard negatives (the loss of hybrid batch training).

For query i with positive passage p_i, candidates P (every positive of the batch plus every hard
negative) and temperature tau:

    L = -1/B sum_i log( exp(cos(q_i, p_i)/tau) / sum_{c in P} exp(cos(q_i, c)/tau) )

tau = 1 is the paper's formula exactly; the default 0.05 equals sentence-transformers' MNRL scale 20.
The optional symmetric term adds the passage->query direction over the batch's queries.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from polyret.training.distributed import gather_with_grad, rank_and_world


def info_nce(q: torch.Tensor, p: torch.Tensor, negatives: torch.Tensor | None = None, tau: float = 0.05,
             symmetric: bool = False, *, offset: int = 0, q_all: torch.Tensor | None = None,
             ) -> tuple[torch.Tensor, dict[str, float]]:
    """InfoNCE over cosine similarities (pure function of embeddings).

    Args:
        q: (b, D) queries.
        p: (N, D) passages; ``p[offset + i]`` is the positive of ``q[i]``, the rest in-batch negatives.
        negatives: (M, D) extra (hard) negatives shared by every query, or None.
        tau: temperature.
        symmetric: also average in the passage->query loss of the b positives against ``q_all``.
        offset: where this process's positives start in ``p`` (distributed; 0 otherwise).
        q_all: (N, D) every query of the global batch, aligned with ``p`` (default ``q``).

    Returns:
        (scalar loss, stats: accuracy, positive/negative mean cosine, embedding std).
    """
    b = q.shape[0]
    qn = F.normalize(q.float(), dim=-1)  # (b, D)
    cands = p if negatives is None else torch.cat([p, negatives])  # (N + M, D)
    cn = F.normalize(cands.float(), dim=-1)
    cos = qn @ cn.T  # (b, N + M)
    labels = torch.arange(b, device=q.device) + offset  # (b,)
    loss = F.cross_entropy(cos / tau, labels)
    if symmetric:
        qa = qn if q_all is None else F.normalize(q_all.float(), dim=-1)  # (N, D)
        pos = cn[offset: offset + b]  # (b, D)
        loss_pq = F.cross_entropy(pos @ qa.T / tau, labels)  # (b, N) scores
        loss = (loss + loss_pq) / 2
    with torch.no_grad():
        pos_cos = cos[torch.arange(b), labels]  # (b,)
        neg_mask = torch.ones_like(cos, dtype=torch.bool)
        neg_mask[torch.arange(b), labels] = False
        stats = {
            "accuracy": (cos.argmax(dim=1) == labels).float().mean().item(),
            "pos_cos": pos_cos.mean().item(),
            "neg_cos": cos[neg_mask].mean().item() if neg_mask.any() else float("nan"),
            "q_std": q.float().std(dim=0).mean().item() if b > 1 else 0.0,
            "p_std": p.float().std(dim=0).mean().item() if p.shape[0] > 1 else 0.0,
        }
    return loss, stats


class InfoNCELoss(nn.Module):
    """InfoNCE over the *global* batch.

    Under ``torch.distributed`` every process gathers queries, passages and negatives of all
    processes with gradient (``torch.distributed.nn.functional.all_gather``) and computes the mean
    loss of its own queries against the global candidates. The all_gather backward sums the
    gradients of all processes, so the local embeddings receive ``world_size`` times the gradient
    of the global-batch mean loss; DDP then *averages* parameter gradients over processes, which
    divides by ``world_size`` again: the result equals one process running the whole global batch.
    """

    def __init__(self, tau: float = 0.05, symmetric: bool = False, gather: bool = True):
        super().__init__()
        self.tau, self.symmetric, self.gather = tau, symmetric, gather

    def forward(self, q: torch.Tensor, p: torch.Tensor, negatives: torch.Tensor | None = None,
                ) -> tuple[torch.Tensor, dict[str, float]]:
        rank, world = rank_and_world()
        if not self.gather or world == 1:
            return info_nce(q, p, negatives, self.tau, self.symmetric)
        q_all = gather_with_grad(q)  # (W*b, D)
        p_all = gather_with_grad(p)  # (W*b, D)
        n_all = gather_with_grad(negatives) if negatives is not None else None  # (W*m, D)
        return info_nce(q, p_all, n_all, self.tau, self.symmetric, offset=rank * q.shape[0], q_all=q_all)
