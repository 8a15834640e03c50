"""The trainer end to end with the tiny model: outputs, reload, falling validation loss, exact resume."""

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


def write_config(tmp_path, out, **train) -> str:
    data = tmp_path / "par.jsonl"
    if not data.exists():
        write_parallel_jsonl(make_items(160, full_share=1.0, seed=4), data)
    t = {"output_dir": str(out), "max_steps": 30, "lr": 2e-3, "warmup_steps": 3, "eval_every": 10,
         "save_every": 10, "log_every": 1, "progress": False, **train}
    cfg = {"model": {"name": "tiny", "max_query_length": 24, "max_passage_length": 32},
           "data": {"train_data": [str(data)], "val_fraction": 0.25, "val_batches": 3},
           "sampling": {"strategy": "hybrid", "batch_size": 8}, "train": t}
    path = tmp_path / f"{out.name}.yaml"
    import yaml

    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def rows(out) -> list[dict]:
    return [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]


def test_train_writes_outputs_and_model_reloads(tmp_path):
    from polyret.modeling.registry import load_model
    from polyret.training.data import BatchCollator
    from polyret.training.trainer import _prepare_data, train, validation_batches, validation_loss

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
    train_sets, val = _prepare_data(cfg)
    items = [it for v in train_sets.values() for it in v] + val
    ev = validation_loss(model, validation_batches(cfg, val), BatchCollator(items), cfg.train)
    assert ev["val_loss"] == pytest.approx(result.best_val_loss, abs=1e-5)
    assert result.best_step == min(evals[1:], key=lambda r: r["val_loss"])["step"]


def test_validation_split_has_no_leak(tmp_path):
    from polyret.training.trainer import _prepare_data

    cfg = load_config(write_config(tmp_path, tmp_path / "x"))
    train_sets, val = _prepare_data(cfg)
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
    assert "sampling.alpha" in capsys.readouterr().out
    from polyret.training.data import read_parallel_jsonl
    from polyret.training.mining import mine_hard_negatives

    out = tmp_path / "cli"
    cfg = write_config(tmp_path, out, max_steps=4, eval_every=0, save_every=0)
    negs = tmp_path / "negs.jsonl"
    mine_hard_negatives(read_parallel_jsonl(tmp_path / "par.jsonl"), negs, num_negatives=2, depth=10)
    assert main(["train", "--config", cfg, "--set", "sampling.strategy=cross",
                 "--set", "train.symmetric=true", "--set", "train.grad_cache_chunk=3",
                 "--set", "train.grad_accum=2", "--set", f"data.hard_negatives={negs}",
                 "--set", "data.num_hard_negatives=2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 4
    saved = load_config(out / "config.yaml")
    assert saved.sampling.strategy == "cross" and saved.train.grad_cache_chunk == 3
    with pytest.raises(ValueError, match="unknown key"):
        main(["train", "--config", cfg, "--set", "train.learning_rate=1"])


def test_torchrun_two_cpu_processes(tmp_path):
    """The trainer under torchrun (2 gloo processes) logs world_size 2 and the global-batch loss."""
    import os

    out = tmp_path / "ddp"
    cfg = write_config(tmp_path, out, max_steps=3, eval_every=0, save_every=0)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--master_port", "29533", "-m", "polyret", "train", "--config", cfg],
                          capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["steps"] == 3
    assert len([r for r in rows(out) if "loss" in r]) == 3  # only the main process writes metrics


def test_early_stopping_when_validation_stalls(tmp_path):
    from polyret.training.trainer import train

    out = tmp_path / "stall"
    cfg = load_config(write_config(tmp_path, out, max_steps=40, eval_every=5, lr=0.0,
                                   early_stopping_patience=2))
    result = train(cfg)
    assert result.steps == 15 and result.best_step == 5  # evals at 5 (best), 10, 15 (no gain) -> stop
    assert json.loads((out / "train_summary.json").read_text())["saved"] == "best (step 5)"
