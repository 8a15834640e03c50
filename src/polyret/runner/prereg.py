"""Pre-registration: fix the hypotheses and the complex-query subsets before any trained model is scored.

``polyret experiment preregister CONFIG`` selects the subsets' query ids on every BEIR suite of the
experiment (rules in :mod:`polyret.evaluation.subsets`; BM25 is the only retriever they look at)
and writes them, with the hypotheses, comparisons, metric and correction of the config, to the
versioned file the config names. Commit that file; ``polyret experiment run`` refuses to start
without it and the report names the commit that added it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from polyret.atomic import write_json
from polyret.errors import UserError
from polyret.experiment.spec import ExperimentSpec
from polyret.runner.provenance import commit_fixing

PREREG_VERSION = 1
ANALYSIS = ("per task x query set: crossed model, queries and training seeds random, arm fixed (exact "
            "balanced ANOVA, Satterthwaite df; polyret.stats.crossed); Holm over the primary family")
ANALYSIS_POOLED = ("primary: the difference pooled over tasks with equal weights (task fixed, query nested "
                   "in task, seeds random) per query set, Holm over the query sets; secondary: per-task "
                   "cells, Holm over them")


def resolve_prereg_path(spec: ExperimentSpec) -> Path:
    """The pre-registration file: absolute, else relative to the working folder, else to an
    ancestor of the config file (the checkout that holds ``configs/experiments/``)."""
    path = Path(spec.preregistration.file)
    if path.is_absolute() or path.exists():
        return path
    config = Path(spec.source).resolve()
    for parent in config.parents:
        if (parent / path).exists():
            return parent / path
    return path


def build_preregistration(spec: ExperimentSpec, data_dir: str | None = None,
                          variance_from: Path | None = None) -> dict[str, Any]:
    """Select the subsets now (no trained model involved) and describe the planned analysis; with
    ``variance_from``, record each cell's minimal detectable difference (:mod:`polyret.runner.power`)."""
    from polyret.evaluation.subset_listing import preregister

    pre = spec.preregistration
    tasks = spec.tested_tasks
    sizes = {s.task: s.max_queries for s in spec.suites}
    selected = preregister(tasks, list(pre.subsets), data_dir=data_dir, max_queries=sizes) if tasks else {}
    comparisons = [{"a": c.a, "b": c.b, "primary": c.primary} for c in pre.comparisons]
    out = {
        "prereg_version": PREREG_VERSION,
        "experiment": spec.name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "research_question": pre.research_question,
        "hypotheses": list(pre.hypotheses),
        "primary_metric": pre.primary_metric,
        "secondary_metrics": list(pre.secondary_metrics),
        "correction": pre.correction,
        "significance_level": pre.significance_level,
        "comparisons": comparisons,
        "subsets": list(pre.subsets),
        "equivalence_margin": pre.equivalence_margin,
        "pooled": pre.pooled,
        "analysis": ANALYSIS_POOLED if pre.pooled else ANALYSIS,
        "tasks": selected,
    }
    if variance_from is not None:
        from polyret.runner.power import POWER, power_rows

        out["power"] = {"variance_from": str(variance_from), "power": POWER,
                        "rule": "MDD = (t(1 - alpha / 2m, df) + t(power, df)) x SE, queries and seeds random",
                        "cells": [r.to_dict() for r in power_rows(spec, variance_from, out)]}
    return out


def write_preregistration(spec: ExperimentSpec, data_dir: str | None = None, force: bool = False,
                          variance_from: Path | None = None) -> Path:
    path = resolve_prereg_path(spec)
    if path.exists() and not force:
        raise UserError(f"{path}: already exists; a pre-registration is fixed once (use --force only "
                        "before any trained model has been scored)")
    return write_json(path, build_preregistration(spec, data_dir, variance_from))


def planned_prereg(spec: ExperimentSpec) -> dict[str, Any]:
    """The planned experiment's pre-registration file if it exists yet (query counts), else {}."""
    import json

    path = resolve_prereg_path(spec)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: damaged pre-registration ({exc})") from None


def load_preregistration(spec: ExperimentSpec) -> dict[str, Any]:
    """The committed pre-registration of ``spec`` with the commit that fixed it; checks it fits."""
    from polyret.schemas import Preregistration as PreregSchema
    from polyret.schemas import load_json, validate

    path = resolve_prereg_path(spec)
    if not path.is_file():
        raise UserError(f"{path}: no pre-registration; run 'polyret experiment preregister {spec.source}' "
                        "and commit the file before scoring trained models")
    data = load_json(path, "pre-registration")
    validate(PreregSchema, data, path, "pre-registration")
    missing = [t for t in spec.tested_tasks if t not in data.get("tasks", {})]
    if missing:
        raise UserError(f"{path}: no subsets for {', '.join(missing)}; the config's BEIR suites changed "
                        "after pre-registration")
    for task, entry in data.get("tasks", {}).items():
        absent = [s for s in spec.preregistration.subsets if s not in entry.get("subsets", {})]
        if task in spec.tested_tasks and absent:
            raise UserError(f"{path}: {task} lacks pre-registered subset(s) {', '.join(absent)}")
    return {**data, "file": str(path), **{"fixed_by": commit_fixing(path)}}
