"""A checkpoint names the machine that wrote it; resuming on another kind of machine (whose bf16
arithmetic differs) is warned and recorded in ``train_summary.json``, never silent."""

from __future__ import annotations

import json
import logging

import pytest

from polyret.config import load_config
from polyret.training import checkpointing
from polyret.training.callbacks import Callback

from .test_trainer import write_config

AMD = {"cpu_model": "AMD EPYC", "cpu_bf16_flags": ["avx512_bf16"], "gpu": None, "torch_threads": 2}
INTEL_AMX = {"cpu_model": "Intel(R) Xeon(R) Processor", "cpu_bf16_flags": ["amx_bf16", "avx512_bf16"],
             "gpu": None, "torch_threads": 2}


def test_machine_change_compares_only_what_decides_the_arithmetic(monkeypatch):
    monkeypatch.setattr(checkpointing, "machine_info", lambda: {**AMD, "torch_threads": 8})
    assert checkpointing.machine_change({"machine": AMD}) is None  # threads and platform do not count
    assert checkpointing.machine_change({}) is None  # a checkpoint written before machines were recorded
    moved = checkpointing.machine_change({"machine": INTEL_AMX})
    assert moved == ("written on Intel(R) Xeon(R) Processor (amx_bf16, avx512_bf16), "
                     "resumed on AMD EPYC (avx512_bf16)")


class StopAt(Callback):
    """Stops the run right after the checkpoint of ``step`` (as a killed session would)."""

    def __init__(self, step: int):
        self.step = step

    def on_checkpoint(self, step, path):
        if step == self.step:
            raise KeyboardInterrupt


def test_resume_on_another_machine_kind_is_warned_and_recorded(tmp_path, monkeypatch, caplog):
    from polyret.training.trainer import train

    out = tmp_path / "run"
    cfg = load_config(write_config(tmp_path, out, max_steps=12, eval_every=6, save_every=6))
    monkeypatch.setattr(checkpointing, "machine_info", lambda: INTEL_AMX)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, callbacks=[StopAt(6)])
    saved = checkpointing.load_checkpoint(out / "checkpoints" / "step-000006")
    assert saved["machine"] == INTEL_AMX
    monkeypatch.setattr(checkpointing, "machine_info", lambda: AMD)
    with caplog.at_level(logging.WARNING, logger="polyret.training.trainer"):
        train(cfg, resume=True)
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["resumed_from"].endswith("step-000006")
    assert summary["resumed_on_another_machine"] == checkpointing.machine_change({"machine": INTEL_AMX})
    assert any("resumed on AMD EPYC" in r.getMessage() for r in caplog.records)


def test_resume_on_the_same_kind_records_nothing(tmp_path, monkeypatch):
    from polyret.training.trainer import train

    out = tmp_path / "run"
    cfg = load_config(write_config(tmp_path, out, max_steps=12, eval_every=6, save_every=6))
    with pytest.raises(KeyboardInterrupt):
        train(cfg, callbacks=[StopAt(6)])
    train(cfg, resume=True)
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["resumed_from"].endswith("step-000006") and "resumed_on_another_machine" not in summary
