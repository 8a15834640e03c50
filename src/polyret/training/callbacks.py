"""Training callbacks: metrics.jsonl logging, best-model / early-stopping tracking, hooks."""

from __future__ import annotations

import json
import math
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class MetricsLog:
    """Appends one JSON object per line; on resume, drops rows written after the checkpoint."""

    def __init__(self, path: str | Path, resume_step: int | None = None, enabled: bool = True):
        self.path = Path(path)
        self.enabled = enabled
        if not enabled:
            return
        if resume_step is None:
            self.path.write_text("", encoding="utf-8")
        elif self.path.is_file():
            keep = [ln for ln in self.path.read_text(encoding="utf-8").splitlines()
                    if ln.strip() and json.loads(ln).get("step", 0) <= resume_step]
            self.path.write_text("".join(ln + "\n" for ln in keep), encoding="utf-8")

    def write(self, row: dict[str, Any]) -> None:
        if self.enabled:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")


@dataclass
class BestTracker:
    """Tracks the best validation loss and the evaluations since it improved."""

    patience: int = 0
    best: float = math.inf
    best_step: int = -1
    bad_evals: int = 0

    def update(self, value: float, step: int) -> bool:
        """Returns True when ``value`` is a new best."""
        if value < self.best:
            self.best, self.best_step, self.bad_evals = value, step, 0
            return True
        self.bad_evals += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience > 0 and self.bad_evals >= self.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "best_step": self.best_step, "bad_evals": self.bad_evals}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_step, self.bad_evals = state["best"], state["best_step"], state["bad_evals"]


class Callback:
    """Hooks the trainer calls; subclass and pass ``callbacks=[...]`` to :func:`train`."""

    def on_log(self, row: dict[str, Any]) -> None: ...

    def on_evaluate(self, row: dict[str, Any]) -> None: ...

    def on_checkpoint(self, step: int, path: Path) -> None: ...
