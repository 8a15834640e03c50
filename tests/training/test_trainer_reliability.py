"""Trainer reliability (issue 10): NaN/inf guard, safe and fallback-capable checkpoints, resume rules,
full disk, stale temporaries. Every test runs the tiny model for a few steps."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import pytest
import torch

from polyret.config import load_config
from polyret.errors import ConfigError, NonFiniteError, UserError
from polyret.training import checkpointing as ckpt
from polyret.training.callbacks import Callback

from .test_trainer import rows, write_config


def strict_rows(out) -> list[dict]:
    """metrics.jsonl parsed as strict JSON (NaN / Infinity are errors)."""
    def refuse(name):
        raise ValueError(f"non-JSON constant {name}")

    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line, parse_constant=refuse) for line in lines]


class Boom(Exception):
    pass


class StopAt(Callback):
    """Interrupts training right after the checkpoint of ``step`` (like a kill, in-process)."""

    def __init__(self, step: int):
        self.step = step

    def on_checkpoint(self, step, path):
        if step == self.step:
            raise Boom(step)


def _nan_at(monkeypatch, calls: set[int]) -> None:
    """contrastive_step returns a NaN loss on the given (1-based) calls."""
    from polyret.training import trainer

    real, count = trainer.contrastive_step, [0]

    def fake(*args, **kwargs):
        count[0] += 1
        loss, stats = real(*args, **kwargs)
        return (math.nan if count[0] in calls else loss), stats

    monkeypatch.setattr(trainer, "contrastive_step", fake)


def test_nonfinite_steps_are_skipped_counted_and_logged_as_strict_json(tmp_path, monkeypatch):
    from polyret.training.trainer import train

    _nan_at(monkeypatch, {2, 3})
    out = tmp_path / "skip"
    result = train(load_config(write_config(tmp_path, out, max_steps=5, eval_every=5, save_every=0)))
    assert result.steps == 5 and result.summary["nonfinite_steps"] == 2
    train_rows = [r for r in strict_rows(out) if "nonfinite_steps" in r]
    assert [r["nonfinite_steps"] for r in train_rows] == [0, 1, 1, 0, 0]
    assert all(math.isfinite(r["loss"]) for r in train_rows if not r["nonfinite_steps"])
    json.loads((out / "train_summary.json").read_text(), parse_constant=lambda c: 1 / 0)


def test_divergence_stops_with_nonfinite_error_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    from polyret.training.trainer import train

    _nan_at(monkeypatch, set(range(4, 100)))
    out = tmp_path / "diverged"
    cfg = load_config(write_config(tmp_path, out, max_steps=20, eval_every=0, save_every=2,
                                   max_nonfinite_steps=3, keep_checkpoints=5))
    with pytest.raises(NonFiniteError, match=r"3 steps in a row \(to step 6\).*step-000002") as info:
        train(cfg)
    assert isinstance(info.value, UserError) and "\n" not in str(info.value)
    assert [p.name for p in ckpt.list_checkpoints(out / "checkpoints")] == ["step-000002"]  # none at 4, 6
    assert not (out / "model.safetensors").exists() and not (out / "train_summary.json").exists()
    strict_rows(out)


def test_absurd_learning_rate_never_saves_a_nonfinite_model(tmp_path):
    """The issue's repro: lr=1e6 used to finish with exit 0 and a NaN model."""
    from polyret.training.trainer import train

    out = tmp_path / "lr"
    cfg = load_config(write_config(tmp_path, out, lr=1e6, warmup_steps=0, max_steps=30, eval_every=0,
                                   save_every=0, max_grad_norm=0.0, select="last"))
    try:
        result = train(cfg)
    except NonFiniteError:
        assert not (out / "model.safetensors").exists() and not (out / "train_summary.json").exists()
    else:  # it may stay finite on some machine: then what was saved must be finite
        from safetensors.torch import load_file

        assert all(torch.isfinite(t).all() for t in load_file(out / "model.safetensors").values())
        assert result.summary["nonfinite_steps"] >= 0
    strict_rows(out)


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))  # would create the marker file when unpickled


def test_crafted_checkpoint_is_not_executed(tmp_path):
    from polyret.training.trainer import train

    out = tmp_path / "crafted"
    cfg = load_config(write_config(tmp_path, out, max_steps=2, eval_every=0, save_every=0))
    bad = out / "checkpoints" / "step-000001"
    bad.mkdir(parents=True)
    marker = tmp_path / "pwned"
    torch.save({"format": ckpt.FORMAT, "step": 1, "state": Payload(marker)}, bad / "state.pt")
    with pytest.raises(ckpt.CheckpointError, match="not a readable polyret checkpoint"):
        ckpt.load_checkpoint(bad)
    assert not marker.exists()
    result = train(cfg, resume=True)  # the crafted checkpoint is skipped: a fresh start
    assert not marker.exists() and result.steps == 2 and result.summary["resumed_from"] is None


def _interrupted(tmp_path, name, stop_at=4, **kw):
    from polyret.training.trainer import train

    out = tmp_path / name
    cfg = load_config(write_config(tmp_path, out, max_steps=6, eval_every=2, save_every=2, **kw))
    with pytest.raises(Boom):
        train(cfg, callbacks=[StopAt(stop_at)])
    return out, cfg


def test_checkpoint_state_is_weights_only_and_one_description(tmp_path):
    out, _ = _interrupted(tmp_path, "state")
    path = ckpt.latest_checkpoint(out / "checkpoints")
    payload = torch.load(path / "state.pt", map_location="cpu", weights_only=True)  # no arbitrary objects
    assert payload["step"] == 4 and list(payload["state"]) == ["model", "optimizer", "scheduler", "sampler",
                                                                 "tracker", "progress", "rng"]
    assert json.loads((path / "meta.json").read_text())["components"] == list(payload["state"])


def test_truncated_checkpoint_and_torn_metrics_line_fall_back(tmp_path):
    from safetensors.torch import load_file

    from polyret.training.trainer import train

    ref = tmp_path / "ref"
    train(load_config(write_config(tmp_path, ref, max_steps=6, eval_every=2, save_every=2)))
    out, cfg = _interrupted(tmp_path, "cut")
    state = out / "checkpoints" / "step-000004" / "state.pt"
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])  # truncated
    with open(out / "metrics.jsonl", "a") as f:
        f.write('{"step": 5, "loss": 0.')  # a torn last line
    result = train(cfg, resume=True)
    assert result.summary["resumed_from"].endswith("step-000002")
    a, b = rows(ref), strict_rows(out)
    assert [r["step"] for r in a] == [r["step"] for r in b]
    for ra, rb in zip(a, b, strict=True):
        for k in ("loss", "val_loss"):
            if k in ra:
                assert rb[k] == pytest.approx(ra[k], abs=1e-6)
    wa, wb = load_file(ref / "model.safetensors"), load_file(out / "model.safetensors")
    for k in wa:
        torch.testing.assert_close(wb[k], wa[k], atol=1e-6, rtol=0)


def test_resume_refuses_a_changed_config_unless_allowed(tmp_path):
    from polyret.training.trainer import train

    out, cfg = _interrupted(tmp_path, "changed")
    changed = load_config(write_config(tmp_path, out, max_steps=6, eval_every=2, save_every=2, lr=1e-3,
                                       progress=True))
    with pytest.raises(ConfigError, match=r"train\.lr \(0\.002 -> 0\.001\)") as info:
        train(changed, resume=True)
    assert "train.progress" not in str(info.value)  # reporting-only keys may change
    result = train(changed, resume=True, allow_config_change=True)
    assert result.summary["config_changes_on_resume"] == ["train.lr"] and result.steps == 6
    assert result.summary["resumed_from"].endswith("step-000004")


def test_resume_of_a_finished_run_returns_its_result_without_training(tmp_path):
    from polyret.training.trainer import train

    out = tmp_path / "done"
    cfg = load_config(write_config(tmp_path, out, max_steps=3, eval_every=0, save_every=0))
    first = train(cfg)
    before = (out / "metrics.jsonl").read_text(), (out / "model.safetensors").stat().st_mtime_ns

    class NoSteps(Callback):
        def on_log(self, row):
            raise AssertionError("a finished run trained again")

    again = train(cfg, resume=True, callbacks=[NoSteps()])
    assert again.summary == first.summary and again.steps == 3
    assert ((out / "metrics.jsonl").read_text(), (out / "model.safetensors").stat().st_mtime_ns) == before


def test_resume_on_an_empty_folder_starts_fresh_and_cleans_stale_temporaries(tmp_path):
    from polyret.training.trainer import train

    out = tmp_path / "fresh"
    stale_dir = out / "checkpoints" / ".tmp-step-000002-abc"
    stale_dir.mkdir(parents=True)
    (out / ".tmp-model.safetensors-xyz").write_bytes(b"partial")
    result = train(load_config(write_config(tmp_path, out, max_steps=2, eval_every=0, save_every=0,
                                            keep_checkpoints_at_end=True)), resume=True)
    assert result.steps == 2 and result.summary["resumed_from"] is None
    assert not stale_dir.exists() and not list(out.glob(".tmp-*"))


FULL_DISK = textwrap.dedent("""
    import resource, signal, sys, torch
    from polyret.errors import UserError
    from polyret.training import checkpointing as ckpt

    class Big:
        def state_dict(self):
            return {"w": torch.zeros(1_000_000)}

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail (EFBIG) like a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
    try:
        ckpt.save_checkpoint(sys.argv[1], 7, {"big": Big()})
    except UserError as exc:
        print("USERERROR", exc)
""")


def test_full_disk_while_checkpointing_is_one_line_naming_the_path(tmp_path):
    folder = tmp_path / "checkpoints"
    proc = subprocess.run([sys.executable, "-c", FULL_DISK, str(folder)], capture_output=True, text=True,
                          timeout=120)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("USERERROR")]
    assert proc.returncode == 0 and len(lines) == 1, proc.stderr[-2000:]
    assert str(folder / "step-000007") in lines[0] and "disk full" in lines[0]
    assert "enforce fail" not in lines[0]
    assert not (folder / "step-000007").exists() and not list(folder.glob(".tmp-*"))
