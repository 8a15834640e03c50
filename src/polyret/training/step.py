"""One contrastive forward/backward, plain or with gradient caching (GradCache, Gao et al. 2021).

Gradient caching: (1) embed the batch in sub-batches without a graph, (2) compute the loss on
those embeddings and its gradient with respect to them, (3) re-embed each sub-batch with a graph
(same dropout: the RNG state of step 1 is replayed) and backpropagate ``<emb, cached grad>``.
Parameter gradients equal those of the full batch; memory is that of one sub-batch.

Also here: :func:`freeze_token_embeddings` (the cheap-step option: the token embedding table is
most of a multilingual encoder's parameters) and :func:`precision_context` (bf16 autocast or none).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from polyret.training.data import BatchTexts

Tokenize = Callable[[list[str], str], dict[str, torch.Tensor]]
TRAIN_PRECISIONS = ("fp32", "bf16")


def _unwrap(model: nn.Module) -> nn.Module:
    """The module inside DDP / accelerate wrappers."""
    while hasattr(model, "module") and isinstance(model.module, nn.Module):
        model = model.module
    return model


def token_embedding(model: nn.Module) -> nn.Embedding:
    """The word (token) embedding table of a BiEncoder, a Hugging Face model, or a wrapper of either."""
    model = _unwrap(model)
    for candidate in (getattr(model, "backbone", None), model):
        if candidate is not None and hasattr(candidate, "get_input_embeddings"):
            emb = candidate.get_input_embeddings()
            if isinstance(emb, nn.Embedding):
                return emb
    raise TypeError(f"{type(model).__name__} has no token embedding table (get_input_embeddings)")


def freeze_token_embeddings(model: nn.Module) -> int:
    """Stop training the token embedding table (``requires_grad = False``); returns the number of
    parameters frozen. Position / token-type embeddings and LayerNorms stay trainable.

    Build the optimizer *after* this call (or from parameters with ``requires_grad``): AdamW then
    keeps no state for the table and skips its (dense, vocab x hidden) update every step.
    """
    weight = token_embedding(model).weight
    weight.requires_grad_(False)
    weight.grad = None
    return weight.numel()


def precision_context(precision: str,
                      device: torch.device | str = "cpu") -> contextlib.AbstractContextManager:
    """bf16 autocast on ``device`` (cpu or cuda) for ``"bf16"``; no autocast for ``"fp32"``.

    Weights and optimizer state stay fp32 (master weights); matrix products run in bf16.
    Resolve ``"auto"`` first with :func:`polyret.hardware.resolve_precision`.
    """
    if precision not in TRAIN_PRECISIONS:
        raise ValueError(f"precision must be one of {TRAIN_PRECISIONS}, not {precision!r} "
                         "(resolve 'auto' with polyret.hardware.resolve_precision)")
    if precision == "fp32":
        return contextlib.nullcontext()
    dev_type = torch.device(device).type
    if dev_type not in ("cpu", "cuda"):
        raise ValueError(f"bf16 autocast is supported on cpu and cuda, not {dev_type!r}")
    return torch.autocast(dev_type, dtype=torch.bfloat16)


@dataclass
class BatchFeatures:
    """One batch tokenised once: queries, and positives + hard negatives in one passage tensor.

    ``passages`` holds the ``n_pos`` positives first, then the negatives (pair-major); both sides
    are padded to their own longest text. Built by :func:`tokenize_batch`, e.g. in a DataLoader
    worker, so tokenisation stays off the training step's critical path.
    """

    queries: dict[str, torch.Tensor]  # (B, Tq)
    passages: dict[str, torch.Tensor]  # (B + B*h, Tp)
    n_pos: int


def tokenize_batch(texts: BatchTexts, tokenize: Tokenize) -> BatchFeatures:
    """Tokenise a batch once: one call per side (negatives share the passage call)."""
    return BatchFeatures(queries=tokenize(texts.queries, "query"),
                         passages=tokenize(texts.passages + texts.negatives, "passage"),
                         n_pos=len(texts.passages))


def _rows(features: dict[str, torch.Tensor], lo: int, hi: int) -> dict[str, torch.Tensor]:
    """Rows ``lo:hi``, trimmed to their own longest text: (c, T') with T' <= T."""
    return _trimmed({k: v[lo:hi] for k, v in features.items()})


def _trimmed(features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop trailing columns that are padding in every row (safe for left padding: none dropped)."""
    used = features["attention_mask"].any(dim=0).nonzero()  # (n_used, 1)
    width = int(used.max()) + 1 if used.numel() else 1
    return {k: v[:, :width] for k, v in features.items()}


MIN_BUCKET_ROWS = 8  # smallest length bucket: smaller matrix products lose more than padding costs
MAX_BUCKETS = 4
MIN_BUCKET_SAVING = 0.10  # split a side only when it saves >= 10% of its padded tokens
# Length buckets are off by default: on a 2-core CPU (benchmarks/train.py, batch 32, q <= 64, p <= 128)
# they gained nothing in fp32 (0.961x vs 0.957x sentence-transformers) and cost 20 % in bf16
# (0.84x with, 1.06x without): several small forwards use the bf16 matrix units worse than one.
BUCKET_BY_LENGTH = False


def length_buckets(lengths: torch.Tensor) -> list[torch.Tensor]:
    """Row indices of one side, split longest-first into <= 4 buckets of >= 8 rows when padding
    each bucket to its own longest text saves >= 10% of the padded tokens; else one bucket (all
    rows, in order). On real SQuAD-parallel batches of 32 this trims queries (~40% padding at one
    pad width, ~12% with 4 buckets) and leaves passages (mostly at the 128-token cap) whole."""
    n = int(lengths.shape[0])
    k = min(MAX_BUCKETS, n // MIN_BUCKET_ROWS)
    if k < 2:
        return [torch.arange(n)]
    order = torch.argsort(lengths, descending=True, stable=True)  # (N,)
    parts = list(torch.tensor_split(order, k))
    bucketed = sum(len(p) * int(lengths[p[0]]) for p in parts)  # each bucket's first row is its longest
    if bucketed > (1 - MIN_BUCKET_SAVING) * n * int(lengths.max()):
        return [torch.arange(n)]
    return parts


def _take(features: dict[str, torch.Tensor], idx: torch.Tensor) -> dict[str, torch.Tensor]:
    """Rows ``idx``, trimmed to their longest text."""
    return _trimmed({k: v[idx] for k, v in features.items()})


def embed(model, features: dict[str, torch.Tensor], buckets: bool | None = None) -> torch.Tensor:
    """(N, T) features -> (N, D) embeddings with graph, in input order: one forward, or one per
    length bucket when ``buckets`` (default :data:`BUCKET_BY_LENGTH`)."""
    if not (BUCKET_BY_LENGTH if buckets is None else buckets):
        return model(features)  # (N, D)
    groups = length_buckets(features["attention_mask"].sum(dim=1))
    if len(groups) == 1:
        return model(features)  # (N, D)
    emb = torch.cat([model(_take(features, idx)) for idx in groups])  # (N, D), bucket order
    return emb[torch.argsort(torch.cat(groups))]  # (N, D), input order


def _split(emb: torch.Tensor, n_pos: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(B + B*h, D) -> positives (B, D), negatives (B*h, D) or None."""
    return emb[:n_pos], (emb[n_pos:] if emb.shape[0] > n_pos else None)


@contextlib.contextmanager
def _replayed_rng(state: dict[str, torch.Tensor | None], device: torch.device):
    """Run with the torch RNG set to ``state`` inside ``torch.random.fork_rng``: the global RNG
    (CPU and the model's CUDA device) is left as it was before, not rewound."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.set_rng_state(state["cpu"])
        if state["cuda"] is not None:
            torch.cuda.set_rng_state(state["cuda"], device)
        yield


def _rng_state(device: torch.device) -> dict[str, torch.Tensor | None]:
    return {"cpu": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}


def _device(model) -> torch.device:
    try:
        return next(model.parameters()).device
    except (StopIteration, AttributeError):
        return torch.device("cpu")


def contrastive_step(model, loss_fn, texts: BatchTexts | BatchFeatures, tokenize: Tokenize | None = None, *,
                     scale: float = 1.0, grad_cache_chunk: int = 0,
                     backward: Callable[[torch.Tensor], None] | None = None,
                     no_sync: Callable[[], contextlib.AbstractContextManager] | None = None,
                     sync: bool = True) -> tuple[float, dict[str, float]]:
    """Forward + backward of one batch; gradients of ``scale * loss`` accumulate in the parameters.

    ``texts``: :class:`BatchTexts` (tokenised here with ``tokenize``) or :class:`BatchFeatures`
    (already tokenised). Queries, then positives + negatives together, each side in length
    buckets (:func:`length_buckets`) padded to their own longest text.
    ``backward`` defaults to ``Tensor.backward`` (pass ``accelerator.backward``); ``no_sync``
    (``lambda: accelerator.no_sync(model)``) suppresses DDP's gradient all-reduce on every
    backward except the last one of the step when ``sync`` is True. Wrap the call in
    :func:`precision_context` for bf16 compute.
    """
    if isinstance(texts, BatchTexts):
        if tokenize is None:
            raise TypeError("contrastive_step needs `tokenize` to tokenise BatchTexts")
        texts = tokenize_batch(texts, tokenize)
    backward = backward or (lambda t: t.backward())
    if not grad_cache_chunk:
        with contextlib.nullcontext() if sync or no_sync is None else no_sync():
            q = embed(model, texts.queries)  # (B, D)
            p, n = _split(embed(model, texts.passages), texts.n_pos)  # (B, D), (B*h, D)
            loss, stats = loss_fn(q, p, n)
            backward(loss * scale)
        return loss.item(), stats
    return _grad_cache_step(model, loss_fn, texts, scale, grad_cache_chunk, backward, no_sync, sync)


def _grad_cache_step(model, loss_fn, feats: BatchFeatures, scale: float, chunk: int, backward,
                     no_sync, sync: bool) -> tuple[float, dict[str, float]]:
    """GradCache (module docstring): sub-batches of ``chunk`` rows, each trimmed to its own length."""
    device = _device(model)
    sides = [feats.queries, feats.passages]
    # 1) embed sub-batches without graph, remembering each sub-batch's RNG state
    jobs, cached = [], []
    with torch.no_grad():
        for side in sides:
            embs = []
            for lo in range(0, side["input_ids"].shape[0], chunk):
                f = _rows(side, lo, lo + chunk)
                jobs.append((f, _rng_state(device)))
                embs.append(model(f))  # (c, D)
            cached.append(torch.cat(embs).detach().requires_grad_())  # (rows, D)
    # 2) loss on the cached embeddings, gradient wrt them
    q, (p, n) = cached[0], _split(cached[1], feats.n_pos)
    loss, stats = loss_fn(q, p, n)
    grads = torch.autograd.grad(loss * scale, cached)
    # 3) re-embed with graph (same dropout: replayed RNG) and push the cached gradients through
    chunk_grads = [g for side_grad in grads for g in torch.split(side_grad, chunk)]
    for k, ((f, state), g) in enumerate(zip(jobs, chunk_grads, strict=True)):
        last = sync and k == len(jobs) - 1
        with contextlib.nullcontext() if last or no_sync is None else no_sync(), _replayed_rng(state, device):
            emb = model(f)  # (c, D)
            backward(torch.sum(emb.float() * g.float()))
    return loss.item(), stats
