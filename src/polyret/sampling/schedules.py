"""The hybrid mix ratio alpha (probability of a mono batch) as a pure function of the step.

Schedules are written in *optimizer steps*; samplers call them with the global batch index, so
with gradient accumulation wrap them in :class:`PerOptimizerStep` (``build_sampler`` does).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass


def constant_alpha(step: int, alpha: float) -> float:
    return alpha


def linear_alpha(step: int, start: float, end: float, steps: int) -> float:
    """``start`` at step 0, ``end`` from step ``steps`` on, linear in between."""
    if steps <= 0 or step >= steps:
        return end
    return start + (end - start) * max(step, 0) / steps


def step_alpha(step: int, start: float, milestones: list[int], values: list[float]) -> float:
    """``start`` until ``milestones[0]``, then ``values[i]`` from ``milestones[i]`` on (sorted)."""
    i = bisect.bisect_right(milestones, step)
    return start if i == 0 else values[i - 1]


@dataclass(frozen=True)
class AlphaSchedule:
    """A picklable schedule: ``AlphaSchedule("linear", 0.8, end=0.5, steps=100)(step)``."""

    kind: str = "constant"
    start: float = 0.5
    end: float = 0.5
    steps: int = 0
    milestones: tuple[int, ...] = ()
    values: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("constant", "linear", "step"):
            raise ValueError(f"unknown alpha schedule {self.kind!r}; expected constant, linear or step")
        if list(self.milestones) != sorted(self.milestones) or len(self.milestones) != len(self.values):
            raise ValueError("step schedule: milestones must be sorted and match values in length")

    def __call__(self, step: int) -> float:
        if self.kind == "linear":
            return linear_alpha(step, self.start, self.end, self.steps)
        if self.kind == "step":
            return step_alpha(step, self.start, list(self.milestones), list(self.values))
        return constant_alpha(step, self.start)


@dataclass(frozen=True)
class PerOptimizerStep:
    """A schedule over optimizer steps, called with the global batch index.

    With ``grad_accum`` batches per optimizer step, batch ``i`` belongs to step ``i // grad_accum``.
    """

    schedule: AlphaSchedule
    grad_accum: int = 1

    def __post_init__(self) -> None:
        if self.grad_accum < 1:
            raise ValueError(f"grad_accum must be >= 1, not {self.grad_accum}")

    def __call__(self, batch_index: int) -> float:
        return self.schedule(batch_index // self.grad_accum)
