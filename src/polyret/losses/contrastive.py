"""InfoNCE with in-batch and hard negatives (the loss of hybrid batch training).

For query i with positive passage p_i, candidates P (every positive of the batch plus every hard
negative), the model's similarity s and temperature tau:

    L = -1/B sum_i log( exp(s(q_i, p_i)/tau) / sum_{c in P} exp(s(q_i, c)/tau) )

``s`` is the similarity the model retrieves with: cosine for a model that L2-normalises its
embeddings (the default, and e5's), the dot product for one saved with ``normalize: false``
(:func:`model_similarity`). tau = 1 with cosine is the paper's formula exactly; the default 0.05
equals sentence-transformers' MNRL scale 20. The optional symmetric term adds the passage->query
direction over the batch's queries.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from polyret.losses.gather import gather_with_grad, rank_and_world

SIMILARITIES = ("cos", "dot")


def model_similarity(model: nn.Module) -> str:
    """``"cos"`` when the model normalises its embeddings (``config.normalize``, default), else ``"dot"``.

    Looks through DDP / accelerate wrappers (``.module``).
    """
    while hasattr(model, "module") and isinstance(model.module, nn.Module):
        model = model.module
    return "cos" if getattr(getattr(model, "config", None), "normalize", True) else "dot"


def _prepare(x: torch.Tensor, similarity: str) -> torch.Tensor:
    x = x.float()
    return F.normalize(x, dim=-1) if similarity == "cos" else x


def info_nce(q: torch.Tensor, p: torch.Tensor, negatives: torch.Tensor | None = None, tau: float = 0.05,
             symmetric: bool = False, *, offset: int = 0, q_all: torch.Tensor | None = None,
             similarity: str = "cos") -> tuple[torch.Tensor, dict[str, float]]:
    """InfoNCE over cosine (``similarity="cos"``) or dot-product scores (pure function of embeddings).

    Args:
        q: (b, D) queries.
        p: (N, D) passages; ``p[offset + i]`` is the positive of ``q[i]``, the rest in-batch negatives.
        negatives: (M, D) extra (hard) negatives shared by every query, or None.
        tau: temperature.
        symmetric: also average in the passage->query loss of the b positives against ``q_all``.
        offset: where this process's positives start in ``p`` (distributed; 0 otherwise).
        q_all: (N, D) every query of the global batch, aligned with ``p`` (default ``q``).
        similarity: ``cos`` or ``dot``; use :func:`model_similarity` of the model being trained.

    Returns:
        (scalar loss, stats: accuracy, positive/negative mean score (``pos_cos``/``neg_cos``: the
        similarity in use), embedding std).
    """
    if similarity not in SIMILARITIES:
        raise ValueError(f"similarity must be one of {SIMILARITIES}, not {similarity!r}")
    b = q.shape[0]
    qn = _prepare(q, similarity)  # (b, D)
    cands = p if negatives is None else torch.cat([p, negatives])  # (N + M, D)
    cn = _prepare(cands, similarity)  # (N + M, D)
    scores = qn @ cn.T  # (b, N + M)
    labels = torch.arange(b, device=q.device) + offset  # (b,)
    loss = F.cross_entropy(scores / tau, labels)
    if symmetric:
        qa = qn if q_all is None else _prepare(q_all, similarity)  # (N, D)
        pos = cn[offset: offset + b]  # (b, D)
        loss_pq = F.cross_entropy(pos @ qa.T / tau, labels)  # (b, N) scores
        loss = (loss + loss_pq) / 2
    return loss, _stats(scores.detach(), labels, q.detach(), p.detach())


def _stats(scores: torch.Tensor, labels: torch.Tensor, q: torch.Tensor, p: torch.Tensor) -> dict[str, float]:
    """Accuracy, mean positive / negative score and embedding spread, with one device sync."""
    b = scores.shape[0]
    rows = torch.arange(b, device=scores.device)
    pos = scores[rows, labels]  # (b,)
    n_neg = scores.numel() - b
    neg = (scores.sum() - pos.sum()) / n_neg if n_neg else scores.new_tensor(float("nan"))
    values = torch.stack([
        (scores.argmax(dim=1) == labels).float().mean(), pos.mean(), neg,
        q.float().std(dim=0).mean() if b > 1 else scores.new_zeros(()),
        p.float().std(dim=0).mean() if p.shape[0] > 1 else scores.new_zeros(()),
    ]).tolist()
    return dict(zip(("accuracy", "pos_cos", "neg_cos", "q_std", "p_std"), values, strict=True))


class InfoNCELoss(nn.Module):
    """InfoNCE over the *global* batch.

    Under ``torch.distributed`` every process gathers queries, passages and negatives of all
    processes with gradient (``torch.distributed.nn.functional.all_gather``) and computes the mean
    loss of its own queries against the global candidates. The all_gather backward sums the
    gradients of all processes, so the local embeddings receive ``world_size`` times the gradient
    of the global-batch mean loss; DDP then *averages* parameter gradients over processes, which
    divides by ``world_size`` again: the result equals one process running the whole global batch.

    ``similarity``: ``cos`` or ``dot``; build it with ``similarity=model_similarity(model)``.
    """

    def __init__(self, tau: float = 0.05, symmetric: bool = False, gather: bool = True,
                 similarity: str = "cos"):
        super().__init__()
        if similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {SIMILARITIES}, not {similarity!r}")
        self.tau, self.symmetric, self.gather, self.similarity = tau, symmetric, gather, similarity

    def forward(self, q: torch.Tensor, p: torch.Tensor, negatives: torch.Tensor | None = None,
                ) -> tuple[torch.Tensor, dict[str, float]]:
        rank, world = rank_and_world()
        if not self.gather or world == 1:
            return info_nce(q, p, negatives, self.tau, self.symmetric, similarity=self.similarity)
        q_all = gather_with_grad(q)  # (W*b, D)
        p_all = gather_with_grad(p)  # (W*b, D)
        n_all = gather_with_grad(negatives) if negatives is not None else None  # (W*m, D)
        return info_nce(q, p_all, n_all, self.tau, self.symmetric, offset=rank * q.shape[0], q_all=q_all,
                        similarity=self.similarity)
