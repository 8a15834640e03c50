"""Reuse finished cells of another experiment folder (``experiment run --reuse-from DIR``).

A trained cell's id ends with the hash of its resolved training config, so a cell of another
experiment with the same hash trained the same model (same data, seed, strategy, alpha, budget):
the alpha sweep's ``alpha-0.50-s1`` is the research grid's ``hybrid-s1``. Its training record and
every result evaluated with the same suite settings (same suite key) and from the same weights (the
fingerprint in the source's ``cell.json``, :mod:`polyret.runner.identity`) are copied instead of being
computed again; the copy records where it came from. Reference cells match by their whole id.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from polyret.atomic import write_bytes
from polyret.errors import UserError
from polyret.experiment.layout import CellRecord, ExperimentLayout, read_result, write_result
from polyret.experiment.spec import ExperimentSpec
from polyret.runner.cells import CellPlan

log = logging.getLogger(__name__)

REUSABLE_STATUS = ("trained", "done")


def cell_hash(cell_id: str) -> str:
    """The config hash that ends a cell id (``hybrid-s1-a3463ec1`` -> ``a3463ec1``)."""
    return cell_id.rsplit("-", 1)[-1]


def find_source(cell: CellPlan, sources: list[Path]) -> tuple[ExperimentLayout, CellRecord] | None:
    """The first finished cell in ``sources`` that computed the same model as ``cell`` (a source
    whose ``cell.json`` is damaged is passed over with a warning)."""
    for root in sources:
        layout = ExperimentLayout(root)
        for cell_id in layout.cell_ids():
            same = (cell_id == cell.cell_id if cell.kind == "reference"
                    else cell_hash(cell_id) == cell_hash(cell.cell_id))
            if not same:
                continue
            try:
                record = layout.read_cell(cell_id)
            except UserError as exc:  # a damaged source is passed over, never a reason to stop the run
                log.warning("--reuse-from: %s; not reused", exc)
                continue
            if record.kind != cell.kind or record.seed != cell.seed:
                continue
            unfinished = record.status not in REUSABLE_STATUS or record.config != cell.config
            if cell.kind == "trained" and unfinished:
                continue
            return layout, record
    return None


def check_scores(per_query: dict, path: Path) -> None:
    """A null / NaN / inf per-query score is an error naming the file and the query (never copied,
    never dropped: the statistics would silently lose the query)."""
    import math

    for setting, cols in (per_query or {}).items():
        for metric, values in (cols or {}).items():
            for query, value in (values or {}).items():
                if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                    raise UserError(f"{path}: per_query.{setting}.{metric}: query {query!r} = {value!r} "
                                    "is not a finite number")


def reuse_cell(layout: ExperimentLayout, spec: ExperimentSpec, cell: CellPlan, sources: list[Path],
               suite_key) -> CellRecord | None:
    """Copy ``cell``'s training record and its same-settings results from a source folder into
    ``layout``; returns the new record, or ``None`` when no source cell matches.

    ``suite_key(suite, precision)`` is the runner's key of a suite's settings (passed in, so that
    this module does not import the runner)."""
    found = find_source(cell, sources)
    if found is None:
        return None
    src_layout, src = found
    if cell.kind == "trained" and src_layout.train_dir(src.cell_id).is_dir():
        shutil.copytree(src_layout.train_dir(src.cell_id), layout.train_dir(cell.cell_id), dirs_exist_ok=True)
    copied = []
    for suite in cell.suites(spec):
        path = src_layout.result_file(src.cell_id, suite.slug)
        if not path.is_file():
            continue
        result = read_result(path)
        check_scores(result.per_query, path)
        if result.experiment.get("suite_key") != suite_key(suite, spec.precision):
            continue
        if result.experiment.get("weights") != src.weights:  # another model's result: never copied
            log.warning("%s: came from weights %s, not the cell's %s; not copied", path,
                        result.experiment.get("weights"), src.weights)
            continue
        result.experiment.update(cell_id=cell.cell_id, arm=cell.arm, reused_from=src.cell_id)
        kept = src_layout.kept_run_file(src.cell_id, suite.slug)
        if kept.is_file():  # the run first: the result names it
            write_bytes(layout.kept_run_file(cell.cell_id, suite.slug), kept.read_bytes())
        write_result(layout.result_file(cell.cell_id, suite.slug), result)
        copied.append(suite.slug)
    record = CellRecord(cell.cell_id, cell.arm, cell.kind, cell.seed, cell.strategy, cell.alpha,
                        status=src.status if len(copied) == len(cell.suites(spec)) else
                        ("trained" if cell.kind == "trained" else "pending"),
                        config=cell.config, train_summary=src.train_summary,
                        timings={k: v for k, v in src.timings.items() if k in ("train_s", "eval_s")},
                        machine=src.machine, code=src.code, weights=src.weights,
                        reused_from={"experiment": str(src_layout.root), "cell_id": src.cell_id,
                                     "results": copied})
    layout.write_cell(record)
    log.info("%s: reused %s from %s (%d result(s))", cell.cell_id, src.cell_id, src_layout.root, len(copied))
    return record
