"""Power before running: per pre-registered cell of a planned experiment, the minimal detectable
difference at 80 % power after the family's Holm correction (:mod:`polyret.stats.power`), with the
variance components estimated from an earlier experiment folder (``--variance-from DIR``).

Cells: the primary comparison x primary metric x (every BEIR task, or, when the pre-registration pools
tasks, the pooled cell; then the per-task cells form their own Holm family) x query set. Queries per
cell: the planned pre-registration file, else DIR's pre-registration of the same task. Components: DIR's
same task x query set; a task DIR did not run borrows the mean over DIR's tasks for that query set
(``source`` says which).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from polyret.errors import UserError
from polyret.experiment.spec import Comparison, ExperimentSpec
from polyret.stats.power import Components, components, mdd, mean_components, pooled_components

POWER = 0.8


@dataclass(frozen=True)
class PowerRow:
    family: str  # "primary" | "per-task"
    task: str
    subset: str
    queries: int
    seeds: int
    family_size: int
    se: float
    df: float
    mdd: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pilot_components(root: Path, comparison: Comparison, metric: str) -> dict[tuple[str, str], Components]:
    """``(task, query set) -> components`` of ``comparison`` (or DIR's own primary comparison when
    DIR lacks its arms) in the experiment folder ``root``."""
    from polyret.report.analysis import arm_scores, checked
    from polyret.report.collect import load_experiment

    data = load_experiment(root)
    comp = comparison
    if comp.a not in data.rows or comp.b not in data.rows:
        comp = data.spec.preregistration.primary_comparison
        if comp is None:
            raise UserError(f"--variance-from {root}: has neither arms {comparison.a}, {comparison.b} nor a "
                            "primary comparison")
    out = {}
    for task in data.spec.tested_tasks:
        slug = task.replace("/", "-")
        runs_a, runs_b = arm_scores(data, comp.a, slug, metric), arm_scores(data, comp.b, slug, metric)
        if len(runs_a) < 2 or len(runs_b) < 2:
            continue
        for subset, ids in data.subsets(task).items():
            queries = sorted(ids) if ids is not None else sorted(runs_a[0][1])
            a = np.array([[r[q] for q in queries] for r in checked(runs_a, queries, metric)])  # (S, n)
            b = np.array([[r[q] for q in queries] for r in checked(runs_b, queries, metric)])  # (S, n)
            out[(task, subset)] = components(a, b)
    if not out:
        raise UserError(f"--variance-from {root}: no BEIR cell with >= 2 seeds per arm to estimate the "
                        "variance from")
    return out


def _sizes(task: str, prereg: dict[str, Any], pilot_prereg: dict[str, Any]) -> dict[str, int]:
    for source in (prereg, pilot_prereg):
        entry = source.get("tasks", {}).get(task)
        if entry and entry.get("queries"):
            sizes = {"all": int(entry["queries"])}
            sizes |= {name: int(sub.get("size", len(sub.get("query_ids", []))))
                      for name, sub in entry.get("subsets", {}).items()}
            return sizes
    return {}


def _component(pilot: dict, task: str, subset: str, root: Path) -> tuple[Components, str]:
    if (task, subset) in pilot:
        return pilot[(task, subset)], f"{root.name}: {task}"
    same = [c for (_, s), c in pilot.items() if s == subset]
    return mean_components(same or list(pilot.values())), f"{root.name}: mean over its tasks (borrowed)"


def power_rows(spec: ExperimentSpec, root: Path, prereg: dict[str, Any]) -> list[PowerRow]:
    """Every pre-registered cell's MDD (see module doc)."""
    import json

    pre = spec.preregistration
    comp = pre.primary_comparison
    if comp is None:
        raise UserError(f"{spec.source}: no primary comparison is pre-registered; nothing to plan power for")
    pilot = pilot_components(root, comp, pre.primary_metric)
    pilot_prereg_file = root / "preregistration.json"
    pilot_prereg = (json.loads(pilot_prereg_file.read_text(encoding="utf-8")) if pilot_prereg_file.is_file()
                    else {})
    seeds, alpha = len(spec.seeds), pre.significance_level
    sets = ["all", *pre.subsets]
    cells = []  # (task, subset, n, components, source)
    for task in spec.tested_tasks:
        sizes = _sizes(task, prereg, pilot_prereg)
        for subset in sets:
            if subset in sizes:
                comps, source = _component(pilot, task, subset, root)
                cells.append((task, subset, sizes[subset], comps, source))
    missing = [t for t in spec.tested_tasks if not _sizes(t, prereg, pilot_prereg)]
    if missing:
        raise UserError(f"{', '.join(missing)}: query counts unknown (run 'polyret experiment preregister' "
                        "first, or use a --variance-from folder that evaluated these tasks)")
    rows = []
    if not pre.pooled:
        for task, subset, n, comps, source in cells:
            rows.append(_row("primary", task, subset, n, seeds, len(cells), comps, source, alpha))
        return rows
    for subset in sets:
        parts = [(c, n) for _, s, n, c, _ in cells if s == subset]
        if parts:
            comps, total = pooled_components(parts)
            rows.append(_row("primary", f"pooled ({len(parts)} tasks)", subset, int(total), seeds, len(sets),
                             comps, "pooled (task fixed; seed effects taken as shared)", alpha))
    rows += [_row("per-task", task, subset, n, seeds, len(cells), comps, source, alpha)
             for task, subset, n, comps, source in cells]
    return rows


def _row(family, task, subset, n, seeds, m, comps, source, alpha) -> PowerRow:
    cell = mdd(comps, n, seeds, alpha=alpha, family_size=m, power=POWER)
    return PowerRow(family, task, subset, n, seeds, m, cell.se, cell.df, cell.mdd, source)


def format_power(rows: list[PowerRow], spec: ExperimentSpec) -> str:
    pre = spec.preregistration
    comp = pre.primary_comparison
    lines = [f"power ({comp.label if comp else '?'}, {pre.primary_metric}): minimal detectable difference "
             f"at {POWER:.0%} power, two-sided, alpha {pre.significance_level:g} / m (Holm's first step), "
             f"{len(spec.seeds)} seeds per arm; queries and seeds random",
             f"{'family':<9} {'task':<22} {'subset':<13} {'queries':>7} {'m':>3} {'SE':>7} {'df':>6} "
             f"{'MDD':>7}  variance from"]
    for r in rows:
        lines.append(f"{r.family:<9} {r.task:<22} {r.subset:<13} {r.queries:>7} {r.family_size:>3} "
                     f"{r.se:>7.4f} {r.df:>6.1f} {r.mdd:>7.4f}  {r.source}")
    if pre.equivalence_margin is not None:
        too_wide = [r for r in rows if r.family == "primary" and r.mdd > pre.equivalence_margin]
        lines.append(f"equivalence margin +-{pre.equivalence_margin:g}: {len(too_wide)} primary cell(s) have "
                     "an MDD above it (expect 'inconclusive' there unless the true difference is large)")
    return "\n".join(lines)
