"""The tiny model's training section for test grids (squad-parallel, a few steps), in one place."""

from __future__ import annotations


def tiny_training(steps: int, eval_every: int = 3) -> dict:
    """A ``training:`` section: 160 squad-parallel items, batches of 8, ``steps`` steps."""
    return {
        "model": {"max_query_length": 24, "max_passage_length": 48},
        "data": {"train_data": ["squad-parallel"], "max_items": 160, "val_fraction": 0.1, "val_batches": 1},
        "sampling": {"batch_size": 8},
        "train": {"max_steps": steps, "lr": 1e-3, "warmup_steps": 1, "eval_every": eval_every,
                  "save_every": 2, "log_every": 1},
    }
