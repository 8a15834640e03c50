"""The training loop (nanoGPT-style: read top to bottom).

``train(config)`` loads the parallel data, holds out whole paragraphs for validation, samples
batches with the configured strategy, optimises InfoNCE with AdamW + linear warmup/decay and
writes into ``train.output_dir``::

    model files (sentence-transformers format)  the best model by validation loss (else the last)
    config.yaml            the resolved configuration
    data_fingerprint.json  sha256 of the item ids/texts used, counts per language
    metrics.jsonl          train rows (loss, accuracy, embedding std, lr, throughput) and eval rows
    train_summary.json     steps, time, s/step, peak RSS, first/last/best losses
    checkpoints/           step-XXXXXX/ (resumable) and best/ (the best model so far)

Device placement, mixed precision (bf16 on GPU, fp32 on CPU) and multi-process training go
through ``accelerate.Accelerator``; ``resume=True`` continues from the latest checkpoint to the same
result as an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import math
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from polyret.config import ExperimentConfig, ModelConfig, save_config
from polyret.losses.contrastive import InfoNCELoss, info_nce
from polyret.sampling.batch_samplers import Batch
from polyret.sampling.factory import build_sampler
from polyret.training import checkpointing as ckpt
from polyret.training.callbacks import BestTracker, Callback, MetricsLog, peak_rss_mb
from polyret.training.data import (
    BatchCollator,
    fingerprint,
    load_training_sets,
    read_hard_negatives,
    shard,
    split_items,
    subsample,
)
from polyret.training.step import contrastive_step
from polyret.types import ParallelItem

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    output_dir: Path
    steps: int
    best_step: int
    best_val_loss: float
    summary: dict


def build_model(cfg: ModelConfig, items: Sequence[ParallelItem]):
    """The model named by ``cfg`` with the configured max lengths ('tiny': random, over the data's words)."""
    from polyret.modeling.encoder import EncoderConfig

    if cfg.name == "tiny":
        import re

        from polyret.testing.tiny import tiny_bi_encoder

        words = {w for it in items for p in it.pairs.values()
                 for w in re.findall(r"\w+", f"{p.question} {p.passage}".lower())}
        enc = EncoderConfig(query_prefix="query: ", passage_prefix="passage: ",
                            max_query_length=cfg.max_query_length, max_passage_length=cfg.max_passage_length)
        return tiny_bi_encoder(sorted(words | {"query", "passage"}), seed=cfg.tiny_seed, config=enc)
    from polyret.modeling.registry import load_model

    model = load_model(cfg.name, device="cpu")
    model.config = dataclasses.replace(model.config, max_query_length=cfg.max_query_length,
                                       max_passage_length=cfg.max_passage_length)
    return model


def save_model(model, path: Path) -> None:
    if hasattr(model, "save"):
        model.save(path)
    else:
        from polyret.modeling.st_format import save_st_folder

        save_st_folder(model, path)


def _batch_stream(sampler) -> Iterator[Batch]:
    while True:
        yield from sampler
        sampler.set_epoch(sampler.epoch + 1)


def _optimizer(model, cfg) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "LayerNorm" in name or "norm" in name.lower() else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)


@torch.no_grad()
def validation_loss(model, batches: list[Batch], collator: BatchCollator, cfg) -> dict[str, float]:
    """Mean InfoNCE and in-batch accuracy over fixed held-out batches (no cross-process gather)."""
    if not batches:
        return {}
    was_training = model.training
    model.eval()
    losses, accs = [], []
    for batch in batches:
        t = collator(batch)
        q = model(model_tokenize(model, t.queries, "query"))  # (B, D)
        p = model(model_tokenize(model, t.passages, "passage"))  # (B, D)
        n = model(model_tokenize(model, t.negatives, "passage")) if t.negatives else None
        loss, stats = info_nce(q, p, n, cfg.temperature, cfg.symmetric)
        losses.append(loss.item())
        accs.append(stats["accuracy"])
    model.train(was_training)
    return {"val_loss": float(np.mean(losses)), "val_accuracy": float(np.mean(accs))}


def model_tokenize(model, texts: list[str], side: str) -> dict[str, torch.Tensor]:
    inner = getattr(model, "module", model)  # DDP-wrapped or not
    return inner.tokenize(texts, side)


def _prepare_data(cfg: ExperimentConfig):
    sets = load_training_sets(cfg.data)
    train_sets, val = {}, []
    for name, items in sets.items():
        items = subsample(items, cfg.data.max_items, cfg.train.seed)
        train_sets[name], held = split_items(items, cfg.data.val_fraction, cfg.train.seed)
        val.extend(held)
    return train_sets, val


def validation_batches(cfg: ExperimentConfig, val_items: Sequence[ParallelItem]) -> list[Batch]:
    """The fixed held-out batches (same strategy as training, its own seed)."""
    if not val_items or not cfg.data.val_batches:
        return []
    sampler = build_sampler({"val": val_items}, cfg.sampling, cfg.data.languages,
                            seed=cfg.sampling.seed + 10_007)
    return list(itertools.islice(_batch_stream(sampler), cfg.data.val_batches))


def train(cfg: ExperimentConfig, resume: bool = False, callbacks: Sequence[Callback] = ()) -> TrainResult:
    """Train a bi-encoder as configured; see the module docstring for what is written where."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    tc = cfg.train
    out = Path(tc.output_dir)
    mp = tc.mixed_precision
    if mp == "auto":
        mp = "bf16" if torch.cuda.is_available() else "no"
    # cpu=True lets accelerate run several CPU processes (gloo) under torchrun
    accelerator = Accelerator(mixed_precision=mp, cpu=not torch.cuda.is_available())
    rank, world, main = accelerator.process_index, accelerator.num_processes, accelerator.is_main_process
    set_seed(tc.seed)

    # ---------------------------------------------------------------- data, model, optimiser
    train_sets, val_items = _prepare_data(cfg)
    all_items = [it for items in train_sets.values() for it in items] + val_items
    sampler = build_sampler(train_sets, cfg.sampling, cfg.data.languages)
    val_batches = validation_batches(cfg, val_items)
    negatives = read_hard_negatives(cfg.data.hard_negatives) if cfg.data.num_hard_negatives else None
    collator = BatchCollator(all_items, negatives, cfg.data.num_hard_negatives)
    model = build_model(cfg.model, all_items)
    optimizer = _optimizer(model, tc)
    scheduler = get_linear_schedule_with_warmup(optimizer, tc.warmup_steps, tc.max_steps)
    model, optimizer = accelerator.prepare(model, optimizer)
    loss_fn = InfoNCELoss(tc.temperature, tc.symmetric, gather=tc.gather_across_devices)
    tracker = BestTracker(patience=tc.early_stopping_patience)
    ckpt_dir, best_dir = out / "checkpoints", out / "checkpoints" / "best"

    # ---------------------------------------------------------------- resume
    start_step, window, resumed_from = 0, [], None
    latest = ckpt.latest_checkpoint(ckpt_dir) if resume else None
    if latest is not None:
        state = ckpt.load_checkpoint(latest)
        accelerator.unwrap_model(model).load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        sampler.load_state_dict(state["sampler"])
        tracker.load_state_dict(state["tracker"])
        start_step, window, resumed_from = state["step"], state["window"], str(latest)
        ckpt.set_rng_state(state["rng"])
        log.info("resumed from %s (step %d)", latest, start_step)

    if main:
        out.mkdir(parents=True, exist_ok=True)
        save_config(cfg, out / "config.yaml")
        (out / "data_fingerprint.json").write_text(
            json.dumps(fingerprint(train_sets, val_items), indent=2) + "\n", encoding="utf-8")
    metrics = MetricsLog(out / "metrics.jsonl", resume_step=start_step if latest else None, enabled=main)
    accelerator.wait_for_everyone()

    # ---------------------------------------------------------------- loop
    batches = _batch_stream(sampler)
    tokenize = lambda texts, side: model_tokenize(model, texts, side)  # noqa: E731
    bar = tqdm(total=tc.max_steps, initial=start_step, disable=not (main and tc.progress), desc="train",
               unit="step", dynamic_ncols=True)
    if val_batches and start_step == 0:  # the starting point, for "validation loss falls"
        metrics.write({"step": 0, **validation_loss(model, val_batches, collator, tc)})
    model.train()
    t_start, step, stop = time.perf_counter(), start_step, False
    first_loss = None
    for step in range(start_step + 1, tc.max_steps + 1):
        t0 = time.perf_counter()
        for micro in range(tc.grad_accum):
            batch = next(batches)
            loss, stats = contrastive_step(
                model, loss_fn, collator(shard(batch, rank, world)), tokenize, scale=1.0 / tc.grad_accum,
                grad_cache_chunk=tc.grad_cache_chunk, backward=accelerator.backward,
                no_sync=lambda: accelerator.no_sync(model), sync=micro == tc.grad_accum - 1)
            if world > 1:  # log the global batch: mean over processes
                both = torch.tensor([loss, stats["accuracy"]], device=accelerator.device)
                mean = accelerator.reduce(both, "mean")
                loss, stats["accuracy"] = mean.tolist()
            window.append({"loss": loss, **stats, "mono": float(batch.kind == "mono")})
        grad_norm = None
        if tc.max_grad_norm:
            grad_norm = accelerator.clip_grad_norm_(model.parameters(), tc.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        dt = time.perf_counter() - t0
        window[-1]["s_per_step"] = dt
        if grad_norm is not None:
            window[-1]["grad_norm"] = float(grad_norm)
        first_loss = window[0]["loss"] if first_loss is None else first_loss
        pairs_per_s = cfg.sampling.batch_size * tc.grad_accum / dt
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}", acc=f"{stats['accuracy']:.2f}", pairs_s=f"{pairs_per_s:.1f}")

        if step % tc.log_every == 0 or step == tc.max_steps:
            row = {k: float(np.nanmean([w[k] for w in window if k in w])) for k in window[-1]}
            row.update(step=step, lr=scheduler.get_last_lr()[0], pairs_per_s=pairs_per_s,
                       rss_mb=peak_rss_mb(), epoch=getattr(sampler, "epoch", 0), mono_share=row.pop("mono"))
            metrics.write(row)
            for cb in callbacks:
                cb.on_log(row)
            window = []

        if val_batches and ((tc.eval_every and step % tc.eval_every == 0) or step == tc.max_steps):
            ev = validation_loss(model, val_batches, collator, tc)
            improved = tracker.update(ev["val_loss"], step)
            row = {"step": step, **ev, "best_val_loss": tracker.best, "best_step": tracker.best_step}
            metrics.write(row)
            for cb in callbacks:
                cb.on_evaluate(row)
            if improved and main:
                save_model(accelerator.unwrap_model(model), best_dir)
            stop = tracker.should_stop
            if stop:
                log.info("early stopping at step %d (best %d)", step, tracker.best_step)

        if main and tc.save_every and (step % tc.save_every == 0 or stop) and step < tc.max_steps:
            path = ckpt.save_checkpoint(ckpt_dir, step, {
                "model": accelerator.unwrap_model(model).state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "sampler": sampler.state_dict(),
                "tracker": tracker.state_dict(), "window": window}, keep=tc.keep_checkpoints)
            for cb in callbacks:
                cb.on_checkpoint(step, path)
        accelerator.wait_for_everyone()
        if stop:
            break
    bar.close()

    # ---------------------------------------------------------------- final model
    elapsed = time.perf_counter() - t_start
    summary = {"steps": step, "resumed_from": resumed_from, "seconds": elapsed,
               "s_per_step": elapsed / max(step - start_step, 1), "peak_rss_mb": peak_rss_mb(),
               "first_train_loss": first_loss, "best_val_loss": tracker.best, "best_step": tracker.best_step,
               "world_size": world, "mixed_precision": mp}
    if main:
        final = accelerator.unwrap_model(model)
        if best_dir.is_dir() and tracker.best_step > 0:
            for child in best_dir.iterdir():
                dest = out / child.name
                if child.is_dir():
                    shutil.copytree(child, dest, dirs_exist_ok=True)
                else:
                    shutil.copy2(child, dest)
            summary["saved"] = f"best (step {tracker.best_step})"
        else:
            save_model(final, out)
            summary["saved"] = f"last (step {step})"
        (out / "train_summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n",
                                                encoding="utf-8")
    accelerator.wait_for_everyone()
    best = tracker.best if math.isfinite(tracker.best) else float("nan")
    return TrainResult(out, step, tracker.best_step, best, summary)
