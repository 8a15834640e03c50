"""Model selection: the loss on the fixed validation batches, and the saved model (best or last).

``train.select: best`` keeps the model with the lowest mean InfoNCE over the fixed validation
batches (:func:`polyret.training.setup.validation_batches`: the same for every strategy, in-batch
negatives only, so arms with and without hard negatives are judged alike); ``last`` keeps the model
after the fixed step budget. Models are written atomically (:func:`polyret.atomic.atomic_dir`)
and only when every parameter is finite.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import numpy as np
import torch

from polyret.atomic import atomic_dir, atomic_write
from polyret.errors import NonFiniteError
from polyret.losses.contrastive import info_nce, model_similarity
from polyret.sampling.batch_samplers import Batch
from polyret.training.data import BatchCollator
from polyret.training.setup import save_model


def model_tokenize(model, texts: list[str], side: str) -> dict[str, torch.Tensor]:
    inner = getattr(model, "module", model)  # DDP-wrapped or not
    return inner.tokenize(texts, side)


@torch.no_grad()
def validation_loss(model, batches: list[Batch], collator: BatchCollator, cfg,
                    precision: contextlib.AbstractContextManager | None = None) -> dict[str, float]:
    """Mean InfoNCE and in-batch accuracy over fixed held-out batches (no cross-process gather)."""
    if not batches:
        return {}
    was_training = model.training
    model.eval()
    losses, accs, similarity = [], [], model_similarity(model)
    for batch in batches:
        t = collator(batch)
        with precision if precision is not None else contextlib.nullcontext():
            q = model(model_tokenize(model, t.queries, "query"))  # (B, D)
            p = model(model_tokenize(model, t.passages, "passage"))  # (B, D)
            n = model(model_tokenize(model, t.negatives, "passage")) if t.negatives else None
            loss, stats = info_nce(q, p, n, cfg.temperature, cfg.symmetric, similarity=similarity)
        losses.append(loss.item())
        accs.append(stats["accuracy"])
    model.train(was_training)
    return {"val_loss": float(np.mean(losses)), "val_accuracy": float(np.mean(accs))}


def check_finite(model, what: str) -> None:
    """NonFiniteError when any parameter holds NaN or inf (such a model is never saved)."""
    bad = [name for name, p in model.named_parameters() if not bool(torch.isfinite(p).all())]
    if bad:
        raise NonFiniteError(f"refusing to save {what}: {len(bad)} parameter tensor(s) hold NaN/inf "
                             f"(first: {bad[0]}); lower train.lr or enable train.max_grad_norm")


def save_model_atomic(model, path: Path, what: str) -> None:
    """Write the model folder ``path`` in one rename, after checking its weights are finite."""
    check_finite(model, what)
    with atomic_dir(path) as tmp:
        save_model(model, tmp)


def install_model(src: Path, out: Path) -> None:
    """Copy a saved model folder's files into ``out`` (each file / sub-folder replaced atomically)."""
    for child in sorted(src.iterdir()):
        dest = out / child.name
        if child.is_dir():
            with atomic_dir(dest) as tmp:
                shutil.copytree(child, tmp, dirs_exist_ok=True)
        else:
            with atomic_write(dest, "wb") as handle, open(child, "rb") as source:
                shutil.copyfileobj(source, handle)
