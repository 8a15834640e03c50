"""Training callbacks: metrics.jsonl logging, best-model / early-stopping tracking, hooks."""

from __future__ import annotations

import json
import logging
import math
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyret.atomic import write_text

log = logging.getLogger(__name__)


def finite_or_none(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, inf) replaced by None: strict JSON, no NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    return value


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a metrics.jsonl; a torn (partial) line from a killed write is skipped with a warning."""
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            log.warning("%s:%d: skipping a damaged metrics row (a write cut short)", path, n)
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


class MetricsLog:
    """Appends one strict-JSON object per line; on resume, keeps only rows up to the checkpoint.

    An append-only log (rewriting the whole file per row would cost O(rows^2)): a kill can tear
    the last line, which :func:`read_metrics` skips; the file is rewritten atomically on (re)start.
    """

    def __init__(self, path: str | Path, resume_step: int | None = None, enabled: bool = True):
        self.path = Path(path)
        self.enabled = enabled
        if not enabled:
            return
        keep = []
        if resume_step is not None and self.path.is_file():
            keep = [r for r in read_metrics(self.path) if r.get("step", 0) <= resume_step]
        write_text(self.path, "".join(json.dumps(r, allow_nan=False) + "\n" for r in keep))

    def write(self, row: dict[str, Any]) -> None:
        if self.enabled:
            line = json.dumps(finite_or_none(row), allow_nan=False)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")


@dataclass
class BestTracker:
    """Tracks the best validation loss and the evaluations since it improved."""

    patience: int = 0
    best: float = math.inf
    best_step: int = -1
    bad_evals: int = 0

    def update(self, value: float, step: int) -> bool:
        """Returns True when ``value`` is a new best (a non-finite value never is)."""
        if math.isfinite(value) and value < self.best:
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
