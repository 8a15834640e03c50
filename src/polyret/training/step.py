"""One contrastive forward/backward, plain or with gradient caching (GradCache, Gao et al. 2021).

Gradient caching: (1) embed the batch in sub-batches without a graph, (2) compute the loss on
those embeddings and its gradient with respect to them, (3) re-embed each sub-batch with a graph
(same dropout: the RNG state of step 1 is replayed) and backpropagate ``<emb, cached grad>``.
Parameter gradients equal those of the full batch; memory is that of one sub-batch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

from polyret.training.data import BatchTexts

Tokenize = Callable[[list[str], str], dict[str, torch.Tensor]]


class _RandState:
    """Captures the torch RNG state (CPU + current CUDA device) to replay a forward's dropout."""

    def __init__(self) -> None:
        self.cpu = torch.get_rng_state()
        self.cuda = torch.cuda.get_rng_state() if torch.cuda.is_available() else None

    @contextlib.contextmanager
    def replay(self):
        torch.set_rng_state(self.cpu)
        if self.cuda is not None:
            torch.cuda.set_rng_state(self.cuda)
        yield


def _chunks(texts: list[str], size: int) -> list[list[str]]:
    return [texts[i:i + size] for i in range(0, len(texts), size)]


def contrastive_step(model, loss_fn, texts: BatchTexts, tokenize: Tokenize, *, scale: float = 1.0,
                     grad_cache_chunk: int = 0, backward: Callable[[torch.Tensor], None] | None = None,
                     no_sync: Callable[[], contextlib.AbstractContextManager] | None = None,
                     sync: bool = True) -> tuple[float, dict[str, float]]:
    """Forward + backward of one batch; gradients of ``scale * loss`` accumulate in the parameters.

    ``backward`` defaults to ``Tensor.backward`` (pass ``accelerator.backward``); ``no_sync``
    (``lambda: accelerator.no_sync(model)``) suppresses DDP's gradient all-reduce on every
    backward except the last one of the step when ``sync`` is True.
    """
    backward = backward or (lambda t: t.backward())
    sides = [("query", texts.queries), ("passage", texts.passages)]
    if texts.negatives:
        sides.append(("passage", texts.negatives))

    if not grad_cache_chunk:
        with contextlib.nullcontext() if sync or no_sync is None else no_sync():
            embs = [model(tokenize(t, side)) for side, t in sides]  # [(b, D), (b, D), (b*h, D)]
            loss, stats = loss_fn(*embs)
            backward(loss * scale)
        return loss.item(), stats

    # 1) embed sub-batches without graph, remembering each sub-batch's RNG state
    feats, states, cached = [], [], []
    with torch.no_grad():
        for side, t in sides:
            f_side, s_side, e_side = [], [], []
            for chunk in _chunks(t, grad_cache_chunk):
                f = tokenize(chunk, side)
                s_side.append(_RandState())
                e_side.append(model(f))  # (c, D)
                f_side.append(f)
            feats.append(f_side)
            states.append(s_side)
            cached.append(torch.cat(e_side).detach().requires_grad_())
    # 2) loss on the cached embeddings, gradient wrt them
    loss, stats = loss_fn(*cached)
    grads = torch.autograd.grad(loss * scale, cached)
    # 3) re-embed with graph and push the cached gradients through
    jobs = [(f, s, g) for fs, ss, gs in zip(feats, states, grads, strict=True)
            for f, s, g in zip(fs, ss, torch.split(gs, grad_cache_chunk), strict=True)]
    for k, (f, state, g) in enumerate(jobs):
        last = sync and k == len(jobs) - 1
        with contextlib.nullcontext() if last or no_sync is None else no_sync(), state.replay():
            emb = model(f)  # (c, D)
            backward(torch.sum(emb.float() * g.float()))
    return loss.item(), stats
