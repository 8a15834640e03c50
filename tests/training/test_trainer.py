"""The trainer end to end with the tiny model: outputs, reload, falling validation loss, exact resume,
hard negatives in the loss, gradient caching and torchrun equal to the plain single-process run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from polyret.config import load_config
from polyret.training.data import write_parallel_jsonl

from .conftest import make_items

LOSS_KEYS = ("loss", "accuracy", "q_std", "p_std", "pos_cos", "neg_cos", "lr", "val_loss", "val_accuracy")


def write_config(tmp_path, out, model=None, data=None, sampling=None, **train) -> str:
    """A tiny-model config over synthetic parallel data (fp32: the same numbers on every machine)."""
    path = tmp_path / "par.jsonl"
    if not path.exists():
        write_parallel_jsonl(make_items(160, full_share=1.0, seed=4), path)
    t = {"output_dir": str(out), "max_steps": 30, "lr": 2e-3, "warmup_steps": 3, "eval_every": 10,
         "save_every": 10, "log_every": 1, "progress": False, "precision": "fp32", **train}
    cfg = {"model": {"name": "tiny", "max_query_length": 24, "max_passage_length": 32, **(model or {})},
           "data": {"train_data": [str(path)], "val_fraction": 0.25, "val_batches": 3, **(data or {})},
           "sampling": {"strategy": "hybrid", "batch_size": 8, **(sampling or {})}, "train": t}
    path = tmp_path / f"{out.name}.yaml"
    import yaml

    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def rows(out) -> list[dict]:
    return [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]


def test_train_writes_outputs_and_model_reloads(tmp_path):
    from polyret.modeling.registry import load_model
    from polyret.training.data import BatchCollator
    from polyret.training.selection import validation_loss
    from polyret.training.setup import prepare_data, validation_batches
    from polyret.training.trainer import train

    out = tmp_path / "run"
    cfg = load_config(write_config(tmp_path, out))
    result = train(cfg)
    for name in ("config.yaml", "metrics.jsonl", "data_fingerprint.json", "train_summary.json",
                 "modules.json", "model.safetensors"):
        assert (out / name).is_file(), name
    assert load_config(out / "config.yaml") == cfg
    fp = json.loads((out / "data_fingerprint.json").read_text())
    assert len(fp["sha256"]) == 64 and fp["val_items"] > 0
    evals = [r for r in rows(out) if "val_loss" in r]
    assert evals[0]["step"] == 0 and evals[-1]["step"] == 30
    assert min(r["val_loss"] for r in evals[1:]) < evals[0]["val_loss"] - 0.05  # validation loss falls
    train_rows = [r for r in rows(out) if "loss" in r]
    assert len(train_rows) == 30 and all({"accuracy", "q_std", "p_std", "lr", "pairs_per_s"} <= set(r)
                                          for r in train_rows)
    # the saved model is the best one: re-evaluating it reproduces the best validation loss
    model = load_model(out, device="cpu")
    train_sets, val = prepare_data(cfg)
    items = [it for v in train_sets.values() for it in v] + val
    ev = validation_loss(model, validation_batches(cfg, val), BatchCollator(items), cfg.train)
    assert ev["val_loss"] == pytest.approx(result.best_val_loss, abs=1e-5)
    assert result.best_step == min(evals[1:], key=lambda r: r["val_loss"])["step"]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["select"] == "best" and summary["selected_step"] == result.best_step
    assert summary["precision"]["requested"] == "fp32" and summary["precision"]["used"] == "fp32"
    assert summary["machine"]["cpu_count"] >= 1 and summary["freeze_token_embeddings"] is False
    assert summary["nonfinite_steps"] == 0 and summary["status"] == "finished"
    assert not (out / "checkpoints").exists()  # removed once finished (train.keep_checkpoints_at_end)


def test_validation_split_has_no_leak(tmp_path):
    from polyret.training.setup import prepare_data

    cfg = load_config(write_config(tmp_path, tmp_path / "x"))
    train_sets, val = prepare_data(cfg)
    train_items = [it for v in train_sets.values() for it in v]
    assert val and {it.item_id for it in val}.isdisjoint(it.item_id for it in train_items)
    train_passages = {p.passage_id for it in train_items for p in it.pairs.values()}
    assert train_passages.isdisjoint(p.passage_id for it in val for p in it.pairs.values())


KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from polyret.config import load_config
    from polyret.training.callbacks import Callback
    from polyret.training.trainer import train

    class KillAt(Callback):
        def on_checkpoint(self, step, path):
            if step == int(sys.argv[2]):
                os.kill(os.getpid(), signal.SIGKILL)

    train(load_config(sys.argv[1]), resume=sys.argv[3] == "resume", callbacks=[KillAt()])
""")


def test_resume_after_sigkill_equals_uninterrupted_run(tmp_path):
    from safetensors.torch import load_file

    from polyret.training.trainer import train

    ref, cut = tmp_path / "ref", tmp_path / "cut"
    train(load_config(write_config(tmp_path, ref, max_steps=24, eval_every=8, save_every=8)))
    cfg = write_config(tmp_path, cut, max_steps=24, eval_every=8, save_every=8)
    killed = subprocess.run([sys.executable, "-c", KILL_SCRIPT, cfg, "16", "fresh"], capture_output=True,
                            text=True)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (cut / "checkpoints" / "step-000016").is_dir() and not (cut / "train_summary.json").exists()
    resumed = subprocess.run([sys.executable, "-c", KILL_SCRIPT, cfg, "-1", "resume"], capture_output=True,
                             text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    summary = json.loads((cut / "train_summary.json").read_text())
    assert summary["resumed_from"].endswith("step-000016")
    a, b = rows(ref), rows(cut)
    assert [r["step"] for r in a] == [r["step"] for r in b]
    for ra, rb in zip(a, b, strict=True):
        for k in LOSS_KEYS:
            if k in ra:
                assert rb[k] == pytest.approx(ra[k], abs=1e-6), (ra["step"], k)
    wa, wb = load_file(ref / "model.safetensors"), load_file(cut / "model.safetensors")
    assert set(wa) == set(wb)
    for k in wa:
        torch.testing.assert_close(wb[k], wa[k], atol=1e-6, rtol=0)


def test_train_cli_smoke_and_list_keys(tmp_path, capsys):
    from polyret.cli import main

    assert main(["train", "--list-keys"]) == 0
    keys = capsys.readouterr().out
    assert "sampling.alpha" in keys and "train.precision" in keys and "data.split_seed" in keys
    out = tmp_path / "cli"
    cfg = write_config(tmp_path, out, max_steps=4, eval_every=0, save_every=0)
    assert main(["train", "--config", cfg, "--set", "sampling.strategy=cross",
                 "--set", "train.symmetric=true", "--set", "train.grad_accum=2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 4
    saved = load_config(out / "config.yaml")
    assert saved.sampling.strategy == "cross" and saved.train.symmetric and saved.train.grad_accum == 2
    assert main(["train", "--config", cfg, "--set", "train.learning_rate=1"]) == 2  # one-line user error
    assert "unknown key" in capsys.readouterr().err


def _final_weights(out) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(out / "model.safetensors")


def _assert_same_weights(a, b, atol=1e-5) -> None:
    assert set(a) == set(b)
    for k in a:
        torch.testing.assert_close(b[k], a[k], atol=atol, rtol=1e-4, msg=k)


def test_hard_negatives_enter_the_loss_with_counted_fallback(tmp_path, monkeypatch):
    """Mined negatives reach the loss (num_hard_negatives per pair, raising the first loss); items
    without mined negatives get the documented fallback instead of a KeyError, counted in the metrics."""
    from polyret.training import trainer
    from polyret.training.data import read_parallel_jsonl
    from polyret.training.mining import mine_hard_negatives
    from polyret.training.trainer import train

    base = dict(max_steps=2, eval_every=0, save_every=0, lr=0.0, select="last")
    no_dropout = {"tiny_dropout": 0.0}
    plain = train(load_config(write_config(tmp_path, tmp_path / "plain", model=no_dropout, **base)))
    negs = tmp_path / "negs.jsonl"
    mine_hard_negatives(read_parallel_jsonl(tmp_path / "par.jsonl"), negs, num_negatives=2, depth=10)
    lines = negs.read_text().splitlines()
    negs.write_text("\n".join(lines[::2]) + "\n")  # half the (item, language) keys lose their negatives
    seen = []
    real_step = trainer.contrastive_step

    def spy(model, loss_fn, texts, *args, **kwargs):
        seen.append((len(texts.queries), len(texts.negatives), texts.fallback_negatives))
        return real_step(model, loss_fn, texts, *args, **kwargs)

    monkeypatch.setattr(trainer, "contrastive_step", spy)
    out = tmp_path / "hn"
    hard = train(load_config(write_config(tmp_path, out, model=no_dropout, **base,
                                          data={"hard_negatives": str(negs), "num_hard_negatives": 2})))
    assert seen and all(n == 2 * q for q, n, _ in seen)
    assert sum(f for *_, f in seen) > 0 and hard.summary["fallback_negatives"] == sum(f for *_, f in seen)
    assert sum(r.get("fallback_negatives", 0) for r in rows(out)) == hard.summary["fallback_negatives"]
    # same model, batches and seed; lr 0: extra candidates in the softmax can only raise the loss
    assert hard.summary["first_train_loss"] > plain.summary["first_train_loss"] + 1e-3


def test_grad_cache_run_equals_plain_run(tmp_path):
    from polyret.training.trainer import train

    kw = dict(max_steps=4, eval_every=0, save_every=0, select="last", grad_accum=2)
    train(load_config(write_config(tmp_path, tmp_path / "plain", model={"tiny_dropout": 0.0}, **kw)))
    train(load_config(write_config(tmp_path, tmp_path / "gc", model={"tiny_dropout": 0.0},
                                   grad_cache_chunk=3, **kw)))
    a, b = _final_weights(tmp_path / "plain"), _final_weights(tmp_path / "gc")
    _assert_same_weights(a, b)
    init = train(load_config(write_config(tmp_path, tmp_path / "zero", model={"tiny_dropout": 0.0},
                                          **{**kw, "lr": 0.0})))
    assert init.steps == 4 and any(not torch.equal(a[k], _final_weights(tmp_path / "zero")[k]) for k in a)


def test_torchrun_two_cpu_processes_equals_one_process(tmp_path):
    """torchrun --standalone (no fixed port), 2 gloo processes: the same model as one process with
    the whole global batch (dropout off), world_size 2 recorded, only the main process writes."""
    import os

    from polyret.training.trainer import train

    kw = dict(max_steps=3, eval_every=0, save_every=0, select="last")
    single = tmp_path / "single"
    train(load_config(write_config(tmp_path, single, model={"tiny_dropout": 0.0}, **kw)))
    out = tmp_path / "ddp"
    cfg = write_config(tmp_path, out, model={"tiny_dropout": 0.0}, **kw)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
                           "2", "-m", "polyret", "train", "--config", cfg],
                          capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["steps"] == 3
    assert len([r for r in rows(out) if "loss" in r]) == 3  # only the main process writes metrics
    ref = [r["loss"] for r in rows(single) if "loss" in r]
    assert [r["loss"] for r in rows(out) if "loss" in r] == pytest.approx(ref, abs=1e-5)
    _assert_same_weights(_final_weights(single), _final_weights(out), atol=1e-4)


def test_early_stopping_when_validation_stalls(tmp_path):
    from polyret.training.trainer import train

    out = tmp_path / "stall"
    cfg = load_config(write_config(tmp_path, out, max_steps=40, eval_every=5, lr=0.0,
                                   early_stopping_patience=2))
    result = train(cfg)
    assert result.steps == 15 and result.best_step == 5  # evals at 5 (best), 10, 15 (no gain) -> stop
    assert json.loads((out / "train_summary.json").read_text())["saved"] == "best (step 5)"
