"""Training guards of issue 21: batch size >= 2, a resumed checkpoint within max_steps and fitting the
model, train_summary.json validated."""

from __future__ import annotations

import json

import pytest
import torch

from polyret.config import load_config
from polyret.errors import ConfigError, UserError
from polyret.training import checkpointing as ckpt

from .test_trainer import write_config
from .test_trainer_reliability import _interrupted


@pytest.mark.parametrize("size", [0, 1])
def test_batch_size_below_two_is_refused_for_the_in_batch_loss(tmp_path, size):
    path = write_config(tmp_path, tmp_path / "b1", sampling={"batch_size": size})
    with pytest.raises(ConfigError, match=r"sampling.batch_size must be >= 2 \(in-batch contrastive"):
        load_config(path)
    with pytest.raises(ConfigError, match="sampling.batch_size must be >= 2"):
        load_config(None, [f"sampling.batch_size={size}"])


def _tamper(out, edit) -> None:
    path = ckpt.latest_checkpoint(out / "checkpoints") / "state.pt"
    payload = torch.load(path, map_location="cpu", weights_only=True)
    edit(payload)
    torch.save(payload, path)


def test_checkpoint_claiming_a_step_beyond_max_steps_is_refused(tmp_path):
    from polyret.training.trainer import train

    out, cfg = _interrupted(tmp_path, "far")

    def far(payload):
        payload["step"] = 5000
        payload["state"]["progress"]["step"] = 5000

    _tamper(out, far)
    with pytest.raises(ckpt.CheckpointError, match=r"claims step 5000.*max_steps is 6") as info:
        train(cfg, resume=True)
    assert "\n" not in str(info.value) and "state.pt" in str(info.value)


def test_checkpoint_whose_step_and_progress_disagree_is_refused(tmp_path):
    from polyret.training.trainer import train

    out, cfg = _interrupted(tmp_path, "torn")
    _tamper(out, lambda p: p["state"]["progress"].update(step=1))
    with pytest.raises(ckpt.CheckpointError, match="says step 4 but its progress is at step 1"):
        train(cfg, resume=True)


def test_checkpoint_tensors_of_the_wrong_shape_are_one_line(tmp_path):
    from polyret.training.trainer import train

    out, cfg = _interrupted(tmp_path, "shape")

    def reshape(payload):
        model = payload["state"]["model"]
        key = next(k for k in model if k.endswith("word_embeddings.weight"))
        model[key] = torch.zeros(3, 5)

    _tamper(out, reshape)
    with pytest.raises(ckpt.CheckpointError, match=r"state.pt: the saved model state does not fit") as info:
        train(cfg, resume=True)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("content", ["{}", "null", "[]", '{"status": "finished", "steps": "x"}', "{"])
def test_damaged_train_summary_is_recomputed(tmp_path, content):
    from polyret.training.trainer import train

    out = tmp_path / "done"
    cfg = load_config(write_config(tmp_path, out, max_steps=2, eval_every=0, save_every=0))
    first = train(cfg)
    (out / "train_summary.json").write_text(content)
    again = train(cfg, resume=True)  # trained again (deterministically), no traceback
    assert again.steps == 2 and again.summary["steps"] == first.summary["steps"]
    assert json.loads((out / "train_summary.json").read_text())["status"] == "finished"


def test_train_summary_claiming_more_steps_than_max_steps_is_refused(tmp_path):
    from polyret.training.trainer import train

    out = tmp_path / "claims"
    cfg = load_config(write_config(tmp_path, out, max_steps=2, eval_every=0, save_every=0))
    train(cfg)
    summary = json.loads((out / "train_summary.json").read_text())
    (out / "train_summary.json").write_text(json.dumps({**summary, "steps": 5000}))
    with pytest.raises(UserError, match=r"train_summary.json: claims 5000 steps but train.max_steps is 2"):
        train(cfg, resume=True)
