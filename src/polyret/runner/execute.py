"""``run_experiment(spec, out)``: train every cell of (a shard of) the grid, evaluate it, write the report.

For each cell, in order (references first, then seed-major):

1. a trained cell trains with ``train(config, resume=True)``: a killed run continues from its last
   checkpoint, a finished one returns at once;
2. every suite is evaluated with the same settings for every model (lengths, precision, subsample);
   a result already on disk for the same suite settings is kept, never recomputed;
3. ``keep_models: false`` deletes the weights once every evaluation of the cell is written.

Every file is written atomically; the manifest (versions, machine, commit, data fingerprints, cost
per cell) is updated after each cell, and the report is written at the end of every run.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from polyret.atomic import clean_stale_temporaries, write_json, write_text
from polyret.errors import UserError
from polyret.evaluation.kept_runs import keep_run
from polyret.evaluation.results import EvalResult
from polyret.experiment.layout import RESULT_SUFFIX, CellRecord, ExperimentLayout, read_result, write_result
from polyret.experiment.spec import ExperimentSpec, Suite, spec_from_dict, stable_hash
from polyret.retrieval.retriever import BM25, Retriever
from polyret.runner.cells import BM25_REFERENCE, CellPlan, plan_cells, shard_cells
from polyret.runner.identity import cell_weights
from polyret.runner.prereg import load_preregistration
from polyret.runner.provenance import code_commit, versions
from polyret.runner.reuse import reuse_cell
from polyret.types import Run

log = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
KEPT_TRAIN_FILES = ("metrics.jsonl", "train_summary.json", "config.yaml", "data_fingerprint.json")


@dataclass
class RunOptions:
    data_dir: str | None = None
    shard: tuple[int, int] = (1, 1)
    report: bool = True
    progress: bool = True
    stop_after: int | None = None  # cells to finish in this call (None: all of the shard)
    reuse_from: tuple[Path, ...] = ()  # other experiment folders whose identical cells are copied
    allow_spec_change: bool = False  # a changed config: move the old cells apart instead of refusing


@dataclass
class RunSummary:
    out: Path
    cells_total: int
    cells_done: list[str] = field(default_factory=list)
    cells_skipped: list[str] = field(default_factory=list)
    report_html: Path | None = None
    seconds: float = 0.0


def suite_key(suite: Suite, precision: str) -> str:
    """Hash of everything that decides a suite's numbers for a given model."""
    return stable_hash({"suite": asdict(suite), "precision": precision}, 12)


def prepare_folder(spec: ExperimentSpec, out: Path, allow_spec_change: bool = False) -> ExperimentLayout:
    """Create ``out`` for ``spec``, or check that an existing one holds the same experiment and config
    (a changed config: refused, or with ``allow_spec_change`` the old cells are moved apart).
    Call it while holding the folder's :class:`~polyret.runner.folder.FolderLock`."""
    import yaml

    from polyret.runner.folder import refuse_change, spec_differences, supersede
    from polyret.schemas import load_yaml_text

    layout = ExperimentLayout(out)
    resolved = spec.to_dict()
    if layout.spec_file.is_file():
        try:
            before = spec_from_dict(load_yaml_text(layout.spec_file.read_text(encoding="utf-8"),
                                                   str(layout.spec_file)), str(layout.spec_file))
        except (OSError, UnicodeDecodeError, UserError) as exc:  # damaged: say so, don't overwrite
            raise UserError(f"{layout.spec_file}: cannot be read ({exc}); use another --out") from None
        old = before.to_dict()
        if old["name"] != resolved["name"]:
            raise UserError(f"{out}: holds experiment {old['name']!r}, not {resolved['name']!r}; "
                            "use another --out")
        changes = spec_differences(old, resolved)
        if changes and not allow_spec_change:
            refuse_change(out, changes)
        if changes:
            moved = supersede(out, before.fingerprint(), {c.cell_id for c in plan_cells(spec)})
            log.warning("%s: configuration changed (%s); the old config and its other cells are in %s",
                        out, "; ".join(changes[:4]), moved)
    out.mkdir(parents=True, exist_ok=True)
    for folder in (out, layout.cells_dir, layout.plots, layout.logs):
        clean_stale_temporaries(folder)
    write_text(layout.spec_file, yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True))
    return layout


def _attach_log(layout: ExperimentLayout) -> logging.Handler:
    layout.logs.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    handler = logging.FileHandler(layout.logs / f"run-{stamp}.log", encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("polyret")
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return handler


def run_experiment(spec: ExperimentSpec, out: str | Path, options: RunOptions | None = None) -> RunSummary:
    """Run (a shard of) the grid of ``spec`` into ``out``; see the module docstring."""
    from tqdm.auto import tqdm

    from polyret.runner.folder import FolderLock

    options = options or RunOptions()
    t_start = time.perf_counter()
    lock = FolderLock(Path(out)).acquire()  # one writer per folder, released on exit and on kill
    try:
        layout = prepare_folder(spec, Path(out), options.allow_spec_change)
    except BaseException:
        lock.release()
        raise
    handler = _attach_log(layout)
    try:
        prereg = load_preregistration(spec) if spec.tested_tasks else {"tasks": {}, "fixed_by": None}
        write_json(layout.preregistration_file, prereg)
        cells = plan_cells(spec)
        mine = shard_cells(cells, options.shard)
        summary = RunSummary(layout.root, len(cells))
        log.info("experiment %s: %d cells, shard %d/%d runs %d", spec.name, len(cells), *options.shard,
                 len(mine))
        update_manifest(layout, spec, options)
        bar = tqdm(total=len(mine), desc=f"cells ({spec.name})", unit="cell", position=0,
                   disable=not options.progress, dynamic_ncols=True)
        for cell in mine:
            if options.stop_after is not None and len(summary.cells_done) >= options.stop_after:
                break
            bar.set_postfix_str(cell.label)
            if run_cell(layout, spec, cell, options):
                summary.cells_done.append(cell.cell_id)
            else:
                summary.cells_skipped.append(cell.cell_id)
            update_manifest(layout, spec, options)
            bar.update(1)
        bar.close()
        if options.report:
            from polyret.report.write import write_report

            _, summary.report_html = write_report(layout.root)
        summary.seconds = time.perf_counter() - t_start
        log.info("run finished in %.0f s: %d cells run, %d already done", summary.seconds,
                 len(summary.cells_done), len(summary.cells_skipped))
        return summary
    finally:
        logging.getLogger("polyret").removeHandler(handler)
        handler.close()
        lock.release()


def run_cell(layout: ExperimentLayout, spec: ExperimentSpec, cell: CellPlan, options: RunOptions) -> bool:
    """Train (if needed) and evaluate one cell; ``False`` when everything was already done."""
    record = _load_or_new_record(layout, spec, cell, options)
    todo = [s for s in cell.suites(spec) if not _has_result(layout, cell.cell_id, s, spec.precision)]
    if record.status == "done" and not todo:
        log.info("%s: done, skipped", cell.cell_id)
        return False
    record.machine = _machine()
    record.code = code_commit() or {}
    t0 = time.perf_counter()
    model = _cell_model(layout, spec, cell, record, options, needed=bool(todo))
    if todo:
        record.weights = cell_weights(layout, spec.base_model, cell, record.weights)
        layout.write_cell(record)
    eval_s = dict(record.timings.get("eval_s", {}))
    for suite in todo:
        t1 = time.perf_counter()
        result, run = evaluate_suite(model, suite, spec.precision, options.data_dir, cell)
        result.experiment["weights"] = record.weights
        path = layout.result_file(cell.cell_id, suite.slug)
        if run is not None:  # the run first: the result names it
            keep_run(run, result, path)
        write_result(path, result)
        eval_s[suite.slug] = round(time.perf_counter() - t1, 2)
        record.timings["eval_s"] = eval_s
        layout.write_cell(record)
        log.info("%s: %s evaluated in %.0f s", cell.cell_id, suite.task, eval_s[suite.slug])
    if cell.kind == "trained" and not spec.keep_models:
        delete_weights(layout.train_dir(cell.cell_id))
    record.status = "done"
    record.timings["total_s"] = round(record.timings.get("train_s", 0.0) + sum(eval_s.values()), 2)
    record.timings["this_run_s"] = round(time.perf_counter() - t0, 2)
    layout.write_cell(record)
    return True


def _load_or_new_record(layout: ExperimentLayout, spec: ExperimentSpec, cell: CellPlan,
                        options: RunOptions) -> CellRecord:
    if layout.cell_file(cell.cell_id).is_file():
        try:
            record = layout.read_cell(cell.cell_id)
            found, planned = (record.cell_id, record.arm, record.kind, record.seed), (
                cell.cell_id, cell.arm, cell.kind, cell.seed)
            if found != planned:
                raise UserError(f"{layout.cell_file(cell.cell_id)}: records cell {found}, not {planned}")
            return record
        except UserError as exc:  # recomputable: set it aside (kept for inspection), start the record anew
            aside = set_aside(layout.cell_file(cell.cell_id))
            log.warning("%s; set aside as %s and recomputed", exc, aside.name)
    if options.reuse_from:
        reused = reuse_cell(layout, spec, cell, list(options.reuse_from), suite_key)
        if reused is not None:
            return reused
    record = CellRecord(cell.cell_id, cell.arm, cell.kind, cell.seed, cell.strategy, cell.alpha,
                        config=cell.config)
    layout.write_cell(record)
    return record


def _has_result(layout: ExperimentLayout, cell_id: str, suite: Suite, precision: str) -> bool:
    path = layout.result_file(cell_id, suite.slug)
    if not path.is_file():
        return False
    try:
        stored = read_result(path).experiment
    except UserError:
        log.warning("%s: damaged, evaluating again", path)
        return False
    if not isinstance(stored, dict) or not stored:
        log.warning("%s: not a result of this runner, evaluating again", path)
        return False
    return stored.get("suite_key") == suite_key(suite, precision)


def _cell_model(layout: ExperimentLayout, spec: ExperimentSpec, cell: CellPlan, record: CellRecord,
                options: RunOptions, needed: bool) -> Retriever | None:
    """Train a trained cell (resumable) and load its model; the reference retriever otherwise."""
    from polyret.evaluation.evaluator import load_retriever

    if cell.arm == BM25_REFERENCE:
        return BM25

    if cell.kind == "reference":
        return load_retriever(spec.base_model) if needed else None
    train_dir = layout.train_dir(cell.cell_id)
    if record.status != "pending" and needed and not _has_weights(train_dir):
        # weights were deleted (keep_models: false) and a suite was added since: train again,
        # deterministically, from scratch
        log.info("%s: weights deleted earlier; training again for the new suite(s)", cell.cell_id)
        shutil.rmtree(train_dir, ignore_errors=True)
        record.status, record.timings = "pending", {k: v for k, v in record.timings.items() if k != "train_s"}
    if record.status == "pending":
        train_cell(layout, cell, record, options)
    return load_retriever(str(train_dir)) if needed else None


def train_cell(layout: ExperimentLayout, cell: CellPlan, record: CellRecord, options: RunOptions) -> None:
    from polyret.config import ExperimentConfig
    from polyret.training.trainer import train

    raw = {section: dict(values) for section, values in cell.config.items()}
    raw["train"].update(output_dir=str(layout.train_dir(cell.cell_id)), progress=options.progress)
    raw["data"]["data_dir"] = options.data_dir
    config = ExperimentConfig.from_dict(raw, source=f"cell {cell.cell_id}")
    t0 = time.perf_counter()
    log.info("%s: training (%s)", cell.cell_id, cell.label)
    result = train(config, resume=True)
    record.train_summary = dict(result.summary)
    record.timings["train_s"] = round(record.timings.get("train_s", 0.0) + time.perf_counter() - t0, 2)
    record.status = "trained"
    layout.write_cell(record)


def evaluate_suite(model: Retriever, suite: Suite, precision: str, data_dir: str | None,
                   cell: CellPlan) -> tuple[EvalResult, Run | None]:
    """One suite, the same settings for every model; the result records them and the cell. Also the
    run that was scored (run-based tasks), to keep beside the result."""
    from polyret.evaluation.evaluator import EvalConfig, evaluate_keeping_run

    config = EvalConfig(task=suite.task, data_dir=data_dir, batch_size=suite.batch_size,
                        max_queries=suite.max_queries, seed=0, candidate_text=suite.candidate_text,
                        languages=suite.languages, max_query_length=suite.max_query_length,
                        max_passage_length=suite.max_passage_length, precision=precision,
                        cache=cell.kind == "reference")
    name = cell.arm if cell.kind == "reference" else cell.cell_id
    result, run = evaluate_keeping_run(model, config, model_name=name)
    result.experiment = {"cell_id": cell.cell_id, "arm": cell.arm, "seed": cell.seed,
                         "suite": asdict(suite), "suite_key": suite_key(suite, precision)}
    return result, run


def _has_weights(folder: Path) -> bool:
    return any((folder / name).is_file() for name in WEIGHT_FILES)


def delete_weights(folder: Path) -> None:
    """Remove weights and checkpoints; keep the training record (metrics, summary, config)."""
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        if child.name in KEPT_TRAIN_FILES:
            continue
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def readable_results(layout: ExperimentLayout, cell_id: str) -> dict[str, EvalResult]:
    """``slug -> result`` of a cell's results that read; a damaged one is left out (it is recomputed:
    :func:`_has_result` says it is missing)."""
    folder = layout.cell_dir(cell_id) / "results"
    out = {}
    for path in sorted(folder.glob(f"*{RESULT_SUFFIX}")) if folder.is_dir() else []:
        try:
            result = read_result(path)
        except UserError as exc:
            log.warning("%s; will be recomputed", exc)
            continue
        out[path.name[: -len(RESULT_SUFFIX)]] = result
    return out


def set_aside(path: Path) -> Path:
    """Rename a damaged, recomputable file to ``<name>.damaged-<time>`` (kept for inspection)."""
    aside = path.with_name(f"{path.name}.damaged-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}")
    path.rename(aside)
    return aside


def _machine() -> dict[str, Any]:
    from polyret.hardware import machine_info

    return machine_info()


def update_manifest(layout: ExperimentLayout, spec: ExperimentSpec, options: RunOptions,
                    clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Path:
    """Versions, machine, commit, data fingerprints and the cost of every finished cell."""
    from polyret.schemas import Manifest, read_json_file

    now = clock().isoformat(timespec="seconds")
    previous: dict[str, Any] = {}
    if layout.manifest_file.is_file():
        try:
            previous = read_json_file(layout.manifest_file, Manifest, "manifest").model_dump()
        except UserError as exc:  # recomputed below from the cells
            log.warning("%s; rewritten", exc)
    cells, fingerprints = {}, dict(previous.get("data_fingerprints", {}))
    for cell_id in layout.cell_ids():
        try:
            record = layout.read_cell(cell_id)
        except UserError as exc:  # set aside and recomputed when its cell runs
            log.warning("%s; not in the manifest until recomputed", exc)
            continue
        cells[record.cell_id] = {"arm": record.arm, "seed": record.seed, "status": record.status,
                                 "timings": record.timings, "machine": record.machine.get("cpu_model")}
        for result in readable_results(layout, record.cell_id).values():
            files = result.data.get("files")
            if files:
                fingerprints[result.task] = files
    code = code_commit() or {}
    found = versions()
    manifest = {
        "experiment": spec.name,
        "spec_hash": spec.fingerprint(),
        "created": previous.get("created", now),
        "updated": now,
        "polyret_version": found.get("polyret"),
        "git_commit": code.get("commit"),
        "git_dirty": code.get("dirty"),
        "code_commit": code.get("code_commit"),
        "versions": found,
        "machine": _machine(),
        "shard": list(options.shard),
        "data_fingerprints": fingerprints,
        "cells": cells,
    }
    return write_json(layout.manifest_file, manifest)
