"""The training loop (nanoGPT-style: read :func:`train` top to bottom).

``train(config)`` loads the parallel data, holds out whole paragraphs for validation, samples
batches with the configured strategy, optimises InfoNCE with AdamW + linear warmup/decay and
writes into ``train.output_dir``::

    model files (sentence-transformers format)  the selected model (train.select: best | last)
    config.yaml            the resolved configuration
    data_fingerprint.json  sha256 of the item ids/texts used, counts per language
    metrics.jsonl          train rows (loss, accuracy, embedding std, lr, throughput) and eval rows
    train_summary.json     written last: steps, time, selection, precision, machine, counts
    checkpoints/           step-XXXXXX/ (resumable) and best/; removed at the end unless
                           train.keep_checkpoints_at_end

Pieces: :mod:`~polyret.training.setup` (data, validation batches, model, optimizer),
:func:`~polyret.training.step.contrastive_step` (one forward/backward), :func:`_optimizer_step`
(non-finite guard, clipping, update), :mod:`~polyret.training.selection` (validation loss, saved
model) and :mod:`~polyret.training.checkpointing` (one description of the state).

Reliability: a step whose loss or gradient norm is NaN/inf is skipped (no update) and counted;
``train.max_nonfinite_steps`` in a row stop the run with :class:`~polyret.errors.NonFiniteError`
(checkpoints saved before stay; a non-finite model is never saved). ``resume=True`` continues
from the newest intact checkpoint to the same result as an uninterrupted run, refuses a changed
configuration (unless ``allow_config_change``, recorded), and returns a finished run's saved
result without training again; with nothing to resume it starts fresh.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from polyret.atomic import clean_stale_temporaries, write_json
from polyret.config import ExperimentConfig, save_config
from polyret.errors import NonFiniteError
from polyret.hardware import machine_info, precision_record
from polyret.losses.contrastive import InfoNCELoss, model_similarity
from polyret.modeling.st_format import trained_model_card
from polyret.sampling.batch_samplers import batch_stream
from polyret.sampling.factory import build_sampler
from polyret.training import checkpointing as ckpt
from polyret.training.callbacks import BestTracker, Callback, MetricsLog, finite_or_none, peak_rss_mb
from polyret.training.data import BatchCollator, fingerprint, read_hard_negatives, shard
from polyret.training.resume import SUMMARY, TrainResult, check_resume_config, finished_result
from polyret.training.selection import (
    check_finite,
    install_model,
    model_tokenize,
    save_model_atomic,
    validation_loss,
)
from polyret.training.setup import (
    build_model,
    build_optimizer,
    parameter_counts,
    prepare_data,
    validation_batches,
)
from polyret.training.step import contrastive_step, freeze_token_embeddings, precision_context

log = logging.getLogger(__name__)


# kept importable under their old names (polyret sample, tests)
__all__ = ["TrainResult", "train", "validation_batches", "validation_loss", "model_tokenize"]


@dataclass
class Progress:
    """Loop counters that a checkpoint must carry (plain values only)."""

    step: int = 0
    window: list[dict] = field(default_factory=list)  # train rows since the last metrics row
    first_loss: float | None = None
    nonfinite_steps: int = 0  # skipped steps in total
    nonfinite_run: int = 0  # skipped steps in a row
    fallback_negatives: int = 0  # pairs whose hard negatives came from the fallback

    def state_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            setattr(self, k, v)


@dataclass
class Run:
    """What :func:`setup` builds: the objects the loop uses, and (in :meth:`components`) the state."""

    cfg: ExperimentConfig
    out: Path
    accelerator: Any
    model: Any
    optimizer: Any
    scheduler: Any
    sampler: Any
    loss_fn: Any
    collator: BatchCollator
    val_collator: BatchCollator
    val_batches: list
    tracker: BestTracker
    progress: Progress
    precision: str
    info: dict  # recorded in train_summary.json
    fingerprint: dict

    @property
    def main(self) -> bool:
        return self.accelerator.is_main_process

    @property
    def ckpt_dir(self) -> Path:
        return self.out / "checkpoints"

    @property
    def best_dir(self) -> Path:
        return self.ckpt_dir / "best"

    def components(self) -> dict[str, Any]:
        """The ONE description of the resumable state (save and restore both read it; RNG last)."""
        return {"model": self.accelerator.unwrap_model(self.model), "optimizer": self.optimizer,
                "scheduler": self.scheduler, "sampler": self.sampler, "tracker": self.tracker,
                "progress": self.progress, "rng": ckpt.RngState()}

    def autocast(self):
        return precision_context(self.precision, self.accelerator.device)


def train(cfg: ExperimentConfig, resume: bool = False, callbacks: Sequence[Callback] = (),
          allow_config_change: bool = False) -> TrainResult:
    """Train a bi-encoder as configured; see the module docstring for what is written where."""
    out = Path(cfg.train.output_dir)
    changes = check_resume_config(cfg, out, allow_config_change) if resume else []
    done = finished_result(cfg, out) if resume else None
    if done is not None:
        return done
    run = setup(cfg)
    resumed_from = _start(run, resume)
    tc, acc = cfg.train, run.accelerator
    metrics = MetricsLog(out / "metrics.jsonl", resume_step=run.progress.step if resumed_from else None,
                         enabled=run.main)
    from tqdm.auto import tqdm

    bar = tqdm(total=tc.max_steps, initial=run.progress.step, disable=not (run.main and tc.progress),
               desc="train", unit="step", dynamic_ncols=True)
    if run.val_batches and run.progress.step == 0:  # the starting point, for "validation loss falls"
        metrics.write({"step": 0, **validation_loss(run.model, run.val_batches, run.val_collator, tc,
                                                    run.autocast())})
    batches = batch_stream(run.sampler)
    run.model.train()
    t_start, start_step, stop = time.perf_counter(), run.progress.step, False
    for step in range(start_step + 1, tc.max_steps + 1):
        t0 = time.perf_counter()
        loss, stats = _forward_backward(run, batches)
        grad_norm = _optimizer_step(run, loss, step)
        run.progress.step = step
        _record(run, loss, stats, grad_norm, time.perf_counter() - t0)
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}", acc=f"{stats['accuracy']:.2f}")
        if step % tc.log_every == 0 or step == tc.max_steps:
            _log_window(run, metrics, callbacks)
        if run.val_batches and ((tc.eval_every and step % tc.eval_every == 0) or step == tc.max_steps):
            stop = _evaluate(run, metrics, callbacks)
        if tc.save_every and (step % tc.save_every == 0 or stop) and step < tc.max_steps:
            _checkpoint(run, callbacks)
        acc.wait_for_everyone()
        if stop:
            break
    bar.close()
    return _finish(run, resumed_from, changes, time.perf_counter() - t_start, run.progress.step - start_step)


# ---------------------------------------------------------------- setup and start


def setup(cfg: ExperimentConfig) -> Run:
    """Accelerator, data, validation batches, model (frozen embeddings?), optimizer, schedule, loss."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from transformers import get_linear_schedule_with_warmup

    tc = cfg.train
    # cpu=True lets accelerate run several CPU processes (gloo) under torchrun; precision is ours
    accelerator = Accelerator(mixed_precision="no", cpu=not torch.cuda.is_available())
    set_seed(tc.seed)
    train_sets, val_items = prepare_data(cfg)
    train_items = [it for items in train_sets.values() for it in items]
    sampler = build_sampler(train_sets, cfg.sampling, cfg.data.languages, grad_accum=tc.grad_accum)
    negatives = read_hard_negatives(cfg.data.hard_negatives) if cfg.data.num_hard_negatives else None
    collator = BatchCollator(train_items + val_items, negatives, cfg.data.num_hard_negatives,
                             pool=train_items, seed=cfg.data.split_seed)
    model = build_model(cfg.model, train_items + val_items)
    frozen = freeze_token_embeddings(model) if cfg.model.freeze_token_embeddings else 0
    model.to(accelerator.device)
    optimizer, impl = build_optimizer(model, tc, accelerator.device)
    scheduler = get_linear_schedule_with_warmup(optimizer, tc.warmup_steps, tc.max_steps)
    counts = parameter_counts(model)
    loss_fn = InfoNCELoss(tc.temperature, tc.symmetric, gather=tc.gather_across_devices,
                          similarity=model_similarity(model))
    model, optimizer = accelerator.prepare(model, optimizer)
    record = precision_record(tc.precision, accelerator.device)
    info = {"precision": record, "freeze_token_embeddings": cfg.model.freeze_token_embeddings,
            "frozen_parameters": frozen, "parameters": counts, "optimizer": f"AdamW ({impl})",
            "world_size": accelerator.num_processes}
    return Run(cfg, Path(tc.output_dir), accelerator, model, optimizer, scheduler, sampler, loss_fn, collator,
               BatchCollator(train_items + val_items), validation_batches(cfg, val_items),
               BestTracker(patience=tc.early_stopping_patience), Progress(), record["used"], info,
               fingerprint(train_sets, val_items))


def _start(run: Run, resume: bool) -> str | None:
    """Clean leftovers, restore the newest intact checkpoint (resume) or start fresh; write config."""
    resumed_from = None
    if run.main:
        clean_stale_temporaries(run.out, older_than_s=0)
        clean_stale_temporaries(run.ckpt_dir, older_than_s=0)
    found = ckpt.load_latest(run.ckpt_dir) if resume else None
    if found is not None:
        path, payload = found
        step = ckpt.restore(run.components(), payload, path / "state.pt", max_step=run.cfg.train.max_steps)
        if run.progress.step != step:
            raise ckpt.CheckpointError(f"{path / 'state.pt'}: says step {step} but its progress is at step "
                                       f"{run.progress.step}; a damaged checkpoint")
        resumed_from = str(path)
        log.info("resumed from %s (step %d)", path, run.progress.step)
        moved = ckpt.machine_change(payload)
        if moved:  # bf16 arithmetic differs by machine kind: the model is a mix of two kinds' training
            log.warning("%s: %s; the model will match neither kind's uninterrupted training", path, moved)
            run.info["resumed_on_another_machine"] = moved
    elif run.main:  # fresh: nothing of an earlier run may be mistaken for this one's
        shutil.rmtree(run.ckpt_dir, ignore_errors=True)
        (run.out / SUMMARY).unlink(missing_ok=True)
    if run.main:
        save_config(run.cfg, run.out / "config.yaml")
        write_json(run.out / "data_fingerprint.json", run.fingerprint)
    run.accelerator.wait_for_everyone()
    return resumed_from


# ---------------------------------------------------------------- one step


def _forward_backward(run: Run, batches) -> tuple[float, dict[str, float]]:
    """``grad_accum`` micro-batches: forward + backward, gradients accumulated; mean loss and stats."""
    tc, acc = run.cfg.train, run.accelerator
    rank, world = acc.process_index, acc.num_processes
    losses, last, fallback = [], {}, 0
    for micro in range(tc.grad_accum):
        batch = next(batches)
        texts = run.collator(shard(batch, rank, world))
        fallback += texts.fallback_negatives
        with run.autocast():
            loss, stats = contrastive_step(
                run.model, run.loss_fn, texts, lambda t, side: model_tokenize(run.model, t, side),
                scale=1.0 / tc.grad_accum, grad_cache_chunk=tc.grad_cache_chunk, backward=acc.backward,
                no_sync=lambda: acc.no_sync(run.model), sync=micro == tc.grad_accum - 1)
        if world > 1:  # log the global batch: mean over processes
            both = acc.reduce(torch.tensor([loss, stats["accuracy"]], device=acc.device), "mean")
            loss, stats["accuracy"] = both.tolist()
        losses.append(loss)
        last = {**stats, "mono": float(batch.kind == "mono")}
    run.progress.fallback_negatives += fallback
    return float(np.mean(losses)), {**last, "fallback_negatives": float(fallback)}


def _optimizer_step(run: Run, loss: float, step: int) -> float:
    """Clip and update, unless the loss or gradient norm is non-finite: then skip (count) or stop."""
    tc, progress = run.cfg.train, run.progress
    params = [p for p in run.model.parameters() if p.requires_grad]
    grad_norm = float(run.accelerator.clip_grad_norm_(params, tc.max_grad_norm or math.inf))
    if math.isfinite(loss) and math.isfinite(grad_norm):
        run.optimizer.step()
        progress.nonfinite_run = 0
    else:
        progress.nonfinite_steps += 1
        progress.nonfinite_run += 1
        log.warning("step %d: non-finite loss (%s) or gradient norm (%s): update skipped",
                    step, loss, grad_norm)
        if progress.nonfinite_run >= tc.max_nonfinite_steps:
            last = ckpt.latest_checkpoint(run.ckpt_dir)
            raise NonFiniteError(
                f"training diverged: {progress.nonfinite_run} steps in a row (to step {step}) had a NaN/inf "
                f"loss or gradient norm; no model was saved for them; last good checkpoint: "
                f"{last or 'none'}; lower train.lr (now {tc.lr}) or check the data")
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    return grad_norm


def _record(run: Run, loss: float, stats: dict[str, float], grad_norm: float, seconds: float) -> None:
    finite = math.isfinite(loss) and math.isfinite(grad_norm)
    row = {"loss": loss, **stats, "grad_norm": grad_norm, "s_per_step": seconds} if finite else {}
    run.progress.window.append({**row, "nonfinite": float(not finite), "s_per_step": seconds})
    if finite and run.progress.first_loss is None:
        run.progress.first_loss = loss


def _log_window(run: Run, metrics: MetricsLog, callbacks: Sequence[Callback]) -> None:
    """One metrics row: means over the steps since the last row (skipped steps only counted)."""
    window, cfg = run.progress.window, run.cfg
    keys = sorted({k for w in window for k in w} - {"nonfinite", "fallback_negatives"})
    row = {k: float(np.mean([w[k] for w in window if k in w])) for k in keys}
    row.update(step=run.progress.step, lr=run.scheduler.get_last_lr()[0],
               pairs_per_s=cfg.sampling.batch_size * cfg.train.grad_accum / row["s_per_step"],
               rss_mb=peak_rss_mb(), epoch=getattr(run.sampler, "epoch", 0),
               nonfinite_steps=int(sum(w["nonfinite"] for w in window)),
               fallback_negatives=int(sum(w.get("fallback_negatives", 0) for w in window)))
    if "mono" in row:
        row["mono_share"] = row.pop("mono")
    metrics.write(row)
    for cb in callbacks:
        cb.on_log(row)
    run.progress.window = []


# ---------------------------------------------------------------- evaluation, selection, checkpoints


def _evaluate(run: Run, metrics: MetricsLog, callbacks: Sequence[Callback]) -> bool:
    """Validation loss on the fixed batches; with select=best keep the best model. True = stop early."""
    tc, step = run.cfg.train, run.progress.step
    ev = validation_loss(run.model, run.val_batches, run.val_collator, tc, run.autocast())
    improved = run.tracker.update(ev["val_loss"], step)
    row = {"step": step, **ev, "best_val_loss": run.tracker.best, "best_step": run.tracker.best_step}
    metrics.write(row)
    for cb in callbacks:
        cb.on_evaluate(row)
    if improved and tc.select == "best" and run.main:
        save_model_atomic(run.accelerator.unwrap_model(run.model), run.best_dir,
                          f"the best model (step {step})")
    if run.tracker.should_stop:
        log.info("early stopping at step %d (best %d)", step, run.tracker.best_step)
    return run.tracker.should_stop


def _checkpoint(run: Run, callbacks: Sequence[Callback]) -> None:
    """A resumable checkpoint (main process), never in a run of non-finite steps or of a non-finite model."""
    if not run.main or run.progress.nonfinite_run:
        return
    check_finite(run.accelerator.unwrap_model(run.model), f"a checkpoint (step {run.progress.step})")
    path = ckpt.save_checkpoint(run.ckpt_dir, run.progress.step, run.components(),
                                keep=run.cfg.train.keep_checkpoints)
    for cb in callbacks:
        cb.on_checkpoint(run.progress.step, path)


def _finish(run: Run, resumed_from: str | None, changes: list[str], seconds: float, steps_run: int
            ) -> TrainResult:
    """Install the selected model, write train_summary.json (last), drop checkpoints unless kept."""
    tc, tracker, step = run.cfg.train, run.tracker, run.progress.step
    use_best = tc.select == "best" and tracker.best_step > 0 and run.best_dir.is_dir()
    selected = tracker.best_step if use_best else step
    summary = {"status": "finished", "steps": step, "resumed_from": resumed_from,
               "config_changes_on_resume": changes, "seconds": seconds,
               "s_per_step": seconds / max(steps_run, 1),
               "peak_rss_mb": peak_rss_mb(), "first_train_loss": run.progress.first_loss,
               "best_val_loss": tracker.best, "best_step": tracker.best_step, "select": tc.select,
               "selected_step": selected, "saved": f"{'best' if use_best else 'last'} (step {selected})",
               "nonfinite_steps": run.progress.nonfinite_steps,
               "fallback_negatives": run.progress.fallback_negatives, **run.info, "machine": machine_info()}
    summary = finite_or_none(summary)
    if run.main:
        if use_best:
            install_model(run.best_dir, run.out)
        else:
            staging = run.ckpt_dir / "last"
            save_model_atomic(run.accelerator.unwrap_model(run.model), staging,
                              f"the final model (step {step})")
            install_model(staging, run.out)
        write_json(run.out / SUMMARY, summary)
        trained_model_card(run.out, run.cfg.to_dict(), summary)
        if not tc.keep_checkpoints_at_end:
            shutil.rmtree(run.ckpt_dir, ignore_errors=True)
    run.accelerator.wait_for_everyone()
    best = tracker.best if math.isfinite(tracker.best) else float("nan")
    return TrainResult(run.out, step, tracker.best_step, best, summary)
