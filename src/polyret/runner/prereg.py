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


def build_preregistration(spec: ExperimentSpec, data_dir: str | None = None) -> dict[str, Any]:
    """Select the subsets now (no trained model involved) and describe the planned analysis."""
    from polyret.evaluation.subset_listing import preregister

    pre = spec.preregistration
    tasks = spec.beir_tasks
    selected = preregister(tasks, list(pre.subsets), data_dir=data_dir) if tasks else {}
    comparisons = [{"a": c.a, "b": c.b, "primary": c.primary} for c in pre.comparisons]
    return {
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
        "tasks": selected,
    }


def write_preregistration(spec: ExperimentSpec, data_dir: str | None = None, force: bool = False) -> Path:
    path = resolve_prereg_path(spec)
    if path.exists() and not force:
        raise UserError(f"{path}: already exists; a pre-registration is fixed once (use --force only "
                        "before any trained model has been scored)")
    return write_json(path, build_preregistration(spec, data_dir))


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
    missing = [t for t in spec.beir_tasks if t not in data.get("tasks", {})]
    if missing:
        raise UserError(f"{path}: no subsets for {', '.join(missing)}; the config's BEIR suites changed "
                        "after pre-registration")
    for task, entry in data.get("tasks", {}).items():
        absent = [s for s in spec.preregistration.subsets if s not in entry.get("subsets", {})]
        if task in spec.beir_tasks and absent:
            raise UserError(f"{path}: {task} lacks pre-registered subset(s) {', '.join(absent)}")
    return {**data, "file": str(path), **{"fixed_by": commit_fixing(path)}}
