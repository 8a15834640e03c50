"""Training-step throughput: polyret's hybrid step vs sentence-transformers' trainer, side by side.

Both train the same weights (the converted multilingual-e5-small folder) on the same batches, in
the same order: real hybrid batches (mono and cross-lingual) of the SQuAD-parallel join drawn by
polyret's sampler, batch 32, queries <= 64 and passages <= 128 tokens, in the same precision
(``--precision fp32|bf16``: bf16 is autocast with fp32 master weights in both). Each arm runs in its
own child process (so peak RSS is its own), the arms alternate ``--rounds`` times (machine load
hits both alike), and every arm does ``--warmup`` untimed steps first.

- ``polyret``: ``contrastive_step`` (tokenise, two forwards, InfoNCE tau 0.05, backward) in
  ``precision_context``, gradient clipping at 1.0, AdamW as the trainer builds it
  (``training.setup.build_optimizer``), linear schedule, ``zero_grad``: the trainer's step.
- ``polyret_frozen`` (``--frozen``): the same with the token embeddings frozen (not in the ratio:
  sentence-transformers trains every weight).
- ``sentence_transformers``: ``SentenceTransformerTrainer`` + ``MultipleNegativesRankingLoss``
  (scale 20 = tau 0.05), the same batches in order (sequential batch sampler), AdamW (its default,
  fused), clipping at 1.0, linear schedule; ``max_seq_length`` 128 (one length for both columns:
  the script counts the queries longer than 64 tokens, which polyret would cut shorter).

A step's time is the wall time from the end of one optimizer step to the end of the next (data,
tokenisation, forward, backward, update). pairs/s = batch size / median step time. The process
CPU time per step is recorded too (``train_vs_st_cpu_time``): on a machine that other jobs load,
it is less distorted by time slicing than wall time.

    python benchmarks/train.py --precision fp32 --steps 8 --warmup 2 --rounds 2
    python benchmarks/train.py --precision bf16 --steps 8 --warmup 2 --rounds 2

Writes ``benchmarks/results/train.json`` (one entry per precision, merged) and merges
``train_vs_st`` (pairs/s ratio polyret / sentence-transformers, per precision) into
``benchmarks/results/summary.json``.
Needs the ``datasets`` package (sentence-transformers' trainer imports it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARMS = ("polyret", "sentence_transformers")
WORKER_FLAG = "--_worker"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# ---------------------------------------------------------------- the batches


def make_batches(args) -> list[dict]:
    """``warmup + steps`` real hybrid batches as texts: [{"queries": [...], "passages": [...]}]."""
    import itertools

    from polyret.data.parallel import load_training_items
    from polyret.sampling import ParallelBatchSampler, batch_stream
    from polyret.training.data import BatchCollator

    items = load_training_items("squad-parallel", data_dir=args.data_dir)
    sampler = ParallelBatchSampler(items, "hybrid", args.batch_size, seed=args.seed, alpha=0.5)
    collate = BatchCollator(items)
    out = []
    for batch in itertools.islice(batch_stream(sampler), args.warmup + args.steps):
        t = collate(batch)
        out.append({"kind": batch.kind, "queries": t.queries, "passages": t.passages})
    return out


def token_counts(batches: list[dict], args) -> dict:
    """Real tokens per batch and queries longer than the query length (what ST cuts later)."""
    from polyret.modeling.registry import load_model

    model = load_model("multilingual-e5-small", device="cpu")
    q_len = [len(x) for b in batches
             for x in model.tokenizer(["query: " + q for q in b["queries"]])["input_ids"]]
    p_len = [len(x) for b in batches
             for x in model.tokenizer(["passage: " + p for p in b["passages"]])["input_ids"]]
    return {"query_tokens_mean": sum(min(n, args.max_query_length) for n in q_len) / len(q_len),
            "passage_tokens_mean": sum(min(n, args.max_passage_length) for n in p_len) / len(p_len),
            "queries_over_max_query_length": sum(n > args.max_query_length for n in q_len),
            "passages_over_max_passage_length": sum(n > args.max_passage_length for n in p_len)}


# ---------------------------------------------------------------- workers (child processes)


def run_polyret(args, batches: list[dict], frozen: bool) -> dict:
    import dataclasses

    import torch
    from transformers import get_linear_schedule_with_warmup

    from polyret.config import TrainConfig
    from polyret.losses import InfoNCELoss, model_similarity
    from polyret.modeling.registry import load_model
    from polyret.training.data import BatchTexts
    from polyret.training.setup import build_optimizer
    from polyret.training.step import contrastive_step, freeze_token_embeddings, precision_context

    torch.manual_seed(args.seed)
    model = load_model("multilingual-e5-small", device="cpu")
    model.config = dataclasses.replace(model.config, max_query_length=args.max_query_length,
                                       max_passage_length=args.max_passage_length)
    if frozen:
        freeze_token_embeddings(model)
    model.train()
    optimizer, impl = build_optimizer(model, TrainConfig(lr=args.lr, weight_decay=args.weight_decay), "cpu")
    scheduler = get_linear_schedule_with_warmup(optimizer, 0, len(batches))
    loss_fn = InfoNCELoss(0.05, similarity=model_similarity(model))
    params = [p for p in model.parameters() if p.requires_grad]
    seconds, cpu, losses = [], [], []
    last, last_cpu = time.perf_counter(), time.process_time()
    for b in batches:
        with precision_context(args.precision, "cpu"):
            loss, _ = contrastive_step(model, loss_fn, BatchTexts(b["queries"], b["passages"], []),
                                       model.tokenize)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        now, now_cpu = time.perf_counter(), time.process_time()
        seconds.append(now - last)
        cpu.append(now_cpu - last_cpu)
        losses.append(loss)
        last, last_cpu = now, now_cpu
    return {"step_seconds": seconds, "step_cpu_seconds": cpu, "losses": losses,
            "optimizer": f"AdamW ({impl})", "trainable_parameters": sum(p.numel() for p in params)}


def run_st(args, batches: list[dict]) -> dict:
    import torch
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.base.sampler import DefaultBatchSampler
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from torch.utils.data import SequentialSampler
    from transformers import TrainerCallback

    from polyret.modeling.registry import e5_folder

    torch.manual_seed(args.seed)
    st = SentenceTransformer(str(e5_folder()), device="cpu")
    st.max_seq_length = args.max_passage_length
    from datasets.table import InMemoryTable

    columns = {"anchor": ["query: " + q for b in batches for q in b["queries"]],
               "positive": ["passage: " + p for b in batches for p in b["passages"]]}
    # a fixed fingerprint: datasets' own hashing of the table fails on some pyarrow/dill versions
    data = Dataset(InMemoryTable.from_pydict(columns), fingerprint="polyret-train-benchmark")

    def sequential(dataset, batch_size, drop_last, **kwargs):  # the same batches, in order
        return DefaultBatchSampler(SequentialSampler(dataset), batch_size=batch_size, drop_last=drop_last,
                                   **kwargs)

    class Timer(TrainerCallback):
        def __init__(self):
            self.seconds, self.cpu, self.last, self.last_cpu = [], [], None, None

        def on_train_begin(self, *a, **k):
            self.last, self.last_cpu = time.perf_counter(), time.process_time()

        def on_step_end(self, *a, **k):
            now, now_cpu = time.perf_counter(), time.process_time()
            self.seconds.append(now - self.last)
            self.cpu.append(now_cpu - self.last_cpu)
            self.last, self.last_cpu = now, now_cpu

    timer = Timer()
    with tempfile.TemporaryDirectory() as out:
        targs = SentenceTransformerTrainingArguments(
            output_dir=out, max_steps=len(batches), per_device_train_batch_size=args.batch_size,
            learning_rate=args.lr, weight_decay=args.weight_decay, warmup_steps=0, lr_scheduler_type="linear",
            max_grad_norm=1.0, bf16=args.precision == "bf16", use_cpu=True, seed=args.seed,
            batch_sampler=sequential, logging_strategy="no", save_strategy="no", report_to="none",
            dataloader_num_workers=0, disable_tqdm=True)
        trainer = SentenceTransformerTrainer(model=st, args=targs, train_dataset=data, callbacks=[timer],
                                             loss=MultipleNegativesRankingLoss(st, scale=20.0))
        trainer.train()
        optim, mixed = str(targs.optim), str(trainer.accelerator.mixed_precision)
    return {"step_seconds": timer.seconds, "step_cpu_seconds": timer.cpu, "optimizer": optim,
            "mixed_precision": mixed,
            "trainable_parameters": sum(p.numel() for p in st.parameters() if p.requires_grad)}


def worker(argv: list[str]) -> None:
    args = parse_args(argv)
    batches = json.loads(Path(args.batches).read_text(encoding="utf-8"))
    import torch

    t0 = time.perf_counter()
    if args._worker == "sentence_transformers":
        result = run_st(args, batches)
    else:
        result = run_polyret(args, batches, frozen=args._worker == "polyret_frozen")
    result.update(peak_rss_mb=peak_rss_mb(), wall_seconds=time.perf_counter() - t0,
                  threads=torch.get_num_threads())
    Path(args.result).write_text(json.dumps(result), encoding="utf-8")


# ---------------------------------------------------------------- the parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=8, help="timed steps per arm and round")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    ap.add_argument("--rounds", type=int, default=1, help="times the arms alternate")
    ap.add_argument("--frozen", action="store_true", help="also time polyret with frozen token embeddings")
    ap.add_argument("--max-query-length", type=int, default=64)
    ap.add_argument("--max-passage-length", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "train.json"),
                    help="results file; this precision's entry is replaced, others kept")
    ap.add_argument("--no-summary", action="store_true", help="do not update results/summary.json")
    ap.add_argument(WORKER_FLAG, dest="_worker", help=argparse.SUPPRESS)
    ap.add_argument("--_batches", dest="batches", help=argparse.SUPPRESS)
    ap.add_argument("--_result", dest="result", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def summarise(runs: dict[str, list[dict]], warmup: int, batch_size: int) -> dict:
    import numpy as np

    out = {}
    for arm, rs in runs.items():
        timed = [s for r in rs for s in r["step_seconds"][warmup:]]
        cpu = [s for r in rs for s in r["step_cpu_seconds"][warmup:]]
        median = float(np.median(timed))
        out[arm] = {"median_step_seconds": median, "pairs_per_second": batch_size / median,
                    "median_step_cpu_seconds": float(np.median(cpu)), "step_seconds": timed,
                    "step_cpu_seconds": cpu, "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
                    **{k: rs[0][k] for k in ("optimizer", "trainable_parameters", "mixed_precision")
                       if k in rs[0]}}
    return out


def main() -> None:
    argv = sys.argv[1:]
    if WORKER_FLAG in argv:
        worker(argv)
        return
    args = parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _summary import read_summary, update_summary

    from polyret.atomic import write_json
    from polyret.hardware import machine_info

    arms = ["polyret", *(["polyret_frozen"] if args.frozen else []), "sentence_transformers"]
    batches = make_batches(args)
    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {a: [] for a in arms}
    with tempfile.TemporaryDirectory() as tmp:
        batch_file = Path(tmp) / "batches.json"
        batch_file.write_text(json.dumps(batches), encoding="utf-8")
        for r in range(args.rounds):
            for arm in arms if r % 2 == 0 else arms[::-1]:
                result = Path(tmp) / f"{arm}-{r}.json"
                subprocess.run([sys.executable, __file__, *argv, WORKER_FLAG, arm,
                                "--_batches", str(batch_file), "--_result", str(result)], check=True)
                runs[arm].append(json.loads(result.read_text(encoding="utf-8")))
                timed = sorted(runs[arm][-1]["step_seconds"][args.warmup:])
                print(f"round {r} {arm}: median step {timed[len(timed) // 2]:.2f} s", flush=True)
    arms_summary = summarise(runs, args.warmup, args.batch_size)
    st_pairs = arms_summary["sentence_transformers"]["pairs_per_second"]
    ratio = arms_summary["polyret"]["pairs_per_second"] / st_pairs
    ratio_cpu = (arms_summary["sentence_transformers"]["median_step_cpu_seconds"]
                 / arms_summary["polyret"]["median_step_cpu_seconds"])
    result = {"batch_size": args.batch_size, "steps": args.steps,
              "warmup": args.warmup, "rounds": args.rounds, "max_query_length": args.max_query_length,
              "max_passage_length": args.max_passage_length, "seed": args.seed,
              "data": f"hybrid batches (alpha 0.5) of squad-parallel from {args.data_dir}, seed {args.seed}",
              "tokens": token_counts(batches, args), "arms": arms_summary, "train_vs_st": ratio,
              "train_vs_st_cpu_time": ratio_cpu,
              "load_avg_before": load_before, "load_avg_after": os.getloadavg()}
    if "polyret_frozen" in arms_summary:
        result["frozen_vs_st"] = (arms_summary["polyret_frozen"]["pairs_per_second"]
                                  / arms_summary["sentence_transformers"]["pairs_per_second"])
    try:
        previous = json.loads(Path(args.output).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        previous = {}
    write_json(args.output, {"machine": machine_info(),
                             "precisions": {**previous.get("precisions", {}), args.precision: result}})
    print(json.dumps({a: {k: round(v, 3) for k, v in s.items() if isinstance(v, float)}
                      for a, s in arms_summary.items()}, indent=1))
    print(f"train_vs_st ({args.precision}): {ratio:.3f} wall, {ratio_cpu:.3f} by CPU time")
    if not args.no_summary:
        merged = dict(read_summary().get("train_vs_st") or {})
        merged[args.precision] = {
            "ratio": ratio, "ratio_cpu_time": ratio_cpu,
            "polyret_pairs_per_s": arms_summary["polyret"]["pairs_per_second"],
            "st_pairs_per_s": arms_summary["sentence_transformers"]["pairs_per_second"],
            "polyret_peak_rss_mb": arms_summary["polyret"]["peak_rss_mb"],
            "st_peak_rss_mb": arms_summary["sentence_transformers"]["peak_rss_mb"],
            **({"frozen_ratio": result["frozen_vs_st"]} if "frozen_vs_st" in result else {})}
        update_summary("train_vs_st", merged)


if __name__ == "__main__":
    main()
