"""The cells of an experiment grid: one per (arm, seed), plus one per reference model.

A cell's id carries a hash of its resolved training config (machine-specific keys such as the
data folder or the progress bar left out), so a changed config is a new cell while a rerun, a
resumed run or another shard of the same grid finds the same folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from polyret.errors import UserError
from polyret.experiment.spec import ExperimentSpec, Suite, stable_hash, training_config

# Keys that do not change what a cell computes: excluded from its hash.
NON_SEMANTIC_KEYS = {("train", "output_dir"), ("train", "progress"), ("data", "data_dir")}
BM25_REFERENCE = "bm25"
ZERO_SHOT_REFERENCE = "zero-shot"


@dataclass(frozen=True)
class CellPlan:
    cell_id: str
    arm: str
    kind: str  # "trained" | "reference"
    seed: int | None = None
    strategy: str | None = None
    alpha: float | None = None
    config: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def label(self) -> str:
        return self.arm if self.seed is None else f"{self.arm} seed {self.seed}"

    def suites(self, spec: ExperimentSpec) -> list[Suite]:
        """The suites this cell is evaluated on (BM25: run-based tasks only)."""
        if self.arm == BM25_REFERENCE:
            return [s for s in spec.suites if not s.is_lareqa]
        return list(spec.suites)


def semantic_config(config: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The training config without the keys that do not change results."""
    return {section: {k: v for k, v in values.items() if (section, k) not in NON_SEMANTIC_KEYS}
            for section, values in config.items()}


def plan_cells(spec: ExperimentSpec) -> list[CellPlan]:
    """References first, then seed-major (every arm of the first seed before the second seed)."""
    cells: list[CellPlan] = []
    for ref in spec.references:
        key = {"model": spec.base_model} if ref == ZERO_SHOT_REFERENCE else {"retriever": "bm25s"}
        cells.append(CellPlan(f"{ref}-{stable_hash(key, 8)}", ref, "reference"))
    for seed in spec.seeds:
        for arm in spec.arms:
            config = training_config(spec, arm, seed, output_dir="<cell>").to_dict()
            digest = stable_hash(semantic_config(config), 8)
            cells.append(CellPlan(f"{arm.name}-s{seed}-{digest}", arm.name, "trained", seed, arm.strategy,
                                  arm.alpha, config))
    ids = [c.cell_id for c in cells]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise UserError(f"{spec.source}: arms that train identically share a cell: {', '.join(dupes)}")
    return cells


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"K/N"`` (1 <= K <= N) -> (K, N); ``None`` -> (1, 1)."""
    if text is None:
        return 1, 1
    k, sep, n = text.partition("/")
    try:
        kk, nn = int(k), int(n)
    except ValueError:
        kk = nn = 0
    if not sep or nn < 1 or not 1 <= kk <= nn:
        raise UserError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. --shard 2/4")
    return kk, nn


def shard_cells(cells: list[CellPlan], shard: tuple[int, int]) -> list[CellPlan]:
    """Every N-th cell starting at the K-th: shards of one grid are disjoint and cover it."""
    k, n = shard
    return cells[k - 1 :: n]
