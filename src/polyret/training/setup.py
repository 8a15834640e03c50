"""Everything the training loop needs before its first step: data split, batches, model, optimizer.

- :func:`prepare_data`: training sets and the held-out validation items. The subsample and the
  split are seeded by ``data.split_seed`` (not ``train.seed``): every arm and seed of an
  experiment validates on the same items.
- :func:`validation_batches`: the fixed validation batches over the held-out items, mono and cross
  batches alternating (half each: a hybrid sampler whose alpha steps 1, 0, 1, 0, ...), drawn once
  with ``data.val_seed`` whatever the training strategy: model selection is strategy-independent.
- :func:`build_model`, :func:`build_optimizer` (fused AdamW where torch has it for the device).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import torch

from polyret.config import ExperimentConfig, ModelConfig, SamplingConfig, TrainConfig
from polyret.modeling.encoder import EncoderConfig
from polyret.modeling.registry import load_model
from polyret.modeling.st_format import save_st_folder
from polyret.modeling.tiny import tiny_bi_encoder
from polyret.sampling.batch_samplers import Batch, batch_stream
from polyret.sampling.factory import build_sampler
from polyret.training.data import load_training_sets, split_items, subsample
from polyret.types import ParallelItem

log = logging.getLogger(__name__)


def prepare_data(cfg: ExperimentConfig) -> tuple[dict[str, list[ParallelItem]], list[ParallelItem]]:
    """``({set name: training items}, validation items)``: whole paragraphs held out, seeded by split_seed."""
    train_sets, val = {}, []
    for name, items in load_training_sets(cfg.data).items():
        items = subsample(items, cfg.data.max_items, cfg.data.split_seed)
        train_sets[name], held = split_items(items, cfg.data.val_fraction, cfg.data.split_seed)
        val.extend(held)
    return train_sets, val


def validation_sampling(cfg: ExperimentConfig) -> SamplingConfig:
    """Validation sampling: mono and cross batches alternating (alpha 1, 0, 1, ...), seeded by
    data.val_seed; only the batch size comes from training (every arm of an experiment shares it)."""
    n = max(cfg.data.val_batches, 1)
    alternating = [float(i % 2) for i in range(2, n + 1)]  # after batch 0 (mono): 0, 1, 0, ...
    return SamplingConfig(strategy="hybrid", alpha=1.0, alpha_schedule="step",
                          alpha_milestones=list(range(1, n)), alpha_values=alternating,
                          batch_size=cfg.sampling.batch_size, seed=cfg.data.val_seed)


def validation_batches(cfg: ExperimentConfig, val_items: Sequence[ParallelItem]) -> list[Batch]:
    """``data.val_batches`` fixed batches over the held-out items, identical for every strategy."""
    if not val_items or not cfg.data.val_batches:
        return []
    sampler = build_sampler({"val": val_items}, validation_sampling(cfg), cfg.data.languages)
    return list(itertools.islice(batch_stream(sampler), cfg.data.val_batches))


def build_model(cfg: ModelConfig, items: Sequence[ParallelItem]):
    """The model named by ``cfg`` with the configured max lengths ('tiny': random, over the data's words)."""
    if cfg.name == "tiny":
        words = {w for it in items for p in it.pairs.values()
                 for w in re.findall(r"\w+", f"{p.question} {p.passage}".lower())}
        enc = EncoderConfig(query_prefix="query: ", passage_prefix="passage: ",
                            max_query_length=cfg.max_query_length, max_passage_length=cfg.max_passage_length)
        return tiny_bi_encoder(sorted(words | {"query", "passage"}), seed=cfg.tiny_seed, config=enc,
                               dropout=cfg.tiny_dropout)
    model = load_model(cfg.name, device="cpu")
    model.config = dataclasses.replace(model.config, max_query_length=cfg.max_query_length,
                                       max_passage_length=cfg.max_passage_length)
    return model


def save_model(model, path: Path) -> None:
    if hasattr(model, "save"):
        model.save(path)
    else:
        save_st_folder(model, path)


def _param_groups(model, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "norm" in name.lower() else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model, cfg: TrainConfig, device: torch.device | str) -> tuple[torch.optim.Optimizer, str]:
    """AdamW over the trainable parameters (no decay on biases/norms): fused where the device has it,
    else the multi-tensor (foreach) one; returns ``(optimizer, "fused" | "foreach")``."""
    groups = _param_groups(model, cfg.weight_decay)
    if torch.device(device).type in ("cuda", "cpu"):
        try:
            return torch.optim.AdamW(groups, lr=cfg.lr, fused=True), "fused"
        except (RuntimeError, TypeError, ValueError) as exc:
            log.debug("fused AdamW unavailable (%s); using foreach", exc)
    return torch.optim.AdamW(groups, lr=cfg.lr, foreach=True), "foreach"


def parameter_counts(model) -> dict[str, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable, "frozen": total - trainable}
