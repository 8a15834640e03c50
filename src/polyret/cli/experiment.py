"""polyret experiment: run a resumable grid of (arm x seed) cells, plan its cost, show its status."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPILOG = """examples:
  polyret experiment preregister configs/experiments/rq-complex-beir.yaml   # then commit the file
  polyret experiment plan configs/experiments/rq-complex-beir.yaml
  polyret experiment run configs/experiments/demo.yaml --out runs/demo
  polyret experiment run configs/experiments/rq-complex-beir.yaml --out runs/rq --shard 2/4
  polyret experiment status runs/rq

A cell is one (arm, seed): train, then evaluate every suite with the same settings for every model.
The zero-shot base model and BM25 are evaluated once. Finished work is never redone: rerun the same
command after a crash or a kill and it resumes (training from its last checkpoint). '--shard K/N'
runs every N-th cell starting at the K-th, so a grid spreads over a Slurm array or several machines;
shards write into one folder (or folders merged by copying 'cells/'). 'polyret report DIR' writes
the report again from whatever is finished.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("experiment", help="run, plan or inspect an experiment grid (arms x seeds)",
                              description=__doc__, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    run = sub.add_parser("run", help="train and evaluate every cell (resumable), then write the report")
    run.add_argument("config", help="experiment YAML (see configs/experiments/)")
    run.add_argument("--out", required=True, help="experiment folder (created; reused to resume)")
    run.add_argument("--shard", default=None, metavar="K/N",
                     help="run every N-th cell from the K-th (1-based)")
    run.add_argument("--data-dir", default=None, help="data root (default: the catalog's search path)")
    run.add_argument("--no-report", action="store_true", help="do not write the report at the end")
    run.add_argument("--max-cells", type=int, default=None,
                     help="stop after finishing this many cells (the next run continues)")
    run.add_argument("--reuse-from", action="append", default=[], metavar="DIR",
                     help="another experiment folder: a cell there with the same training config (same "
                          "hash) or the same reference is copied, with its results for identical suite "
                          "settings, instead of computed again (repeatable)")
    run.add_argument("--allow-spec-change", action="store_true",
                     help="--out holds a run of another configuration: move its config and the cells the "
                          "new one does not share to OUT/superseded/<old hash>/ and continue")
    run.set_defaults(func=run_cmd)

    plan = sub.add_parser("plan", help="list the cells, what is done, and the estimated time on this machine")
    plan.add_argument("config", help="experiment YAML")
    plan.add_argument("--out", default=None, help="an experiment folder, to see what is already done")
    plan.add_argument("--shard", default=None, metavar="K/N", help="plan only this shard")
    plan.add_argument("--data-dir", default=None, help="data root")
    plan.add_argument("--no-measure", action="store_true",
                      help="do not measure throughput (no time estimates unless cached)")
    plan.add_argument("--variance-from", default=None, metavar="DIR",
                      help="an earlier experiment folder: print each pre-registered cell's minimal "
                           "detectable difference at 80%% power after Holm, from its variance components")
    plan.add_argument("--power-only", action="store_true",
                      help="with --variance-from: print only the power table (no cells, no model loaded)")
    plan.set_defaults(func=plan_cmd)

    status = sub.add_parser("status", help="what an experiment folder holds: cells done, cost, what is left")
    status.add_argument("out", help="experiment folder")
    status.set_defaults(func=status_cmd)

    pre = sub.add_parser("preregister", help="fix the complex-query subsets (query ids) before scoring")
    pre.add_argument("config", help="experiment YAML; writes the file its preregistration.file names")
    pre.add_argument("--data-dir", default=None, help="data root")
    pre.add_argument("--force", action="store_true", help="overwrite an existing pre-registration")
    pre.add_argument("--variance-from", default=None, metavar="DIR",
                     help="record each cell's minimal detectable difference (80%% power, after Holm) from "
                          "this earlier experiment folder's variance")
    pre.set_defaults(func=preregister_cmd)


def _folders(paths: list[str]) -> list[Path]:
    """``--reuse-from`` folders, each checked to be an experiment folder."""
    from polyret.errors import UserError

    out = []
    for path in paths:
        if not (Path(path) / "cells").is_dir():
            raise UserError(f"--reuse-from {path}: not an experiment folder (no cells/ inside)")
        out.append(Path(path))
    return out


def run_cmd(args) -> int:
    from polyret.experiment.spec import load_spec
    from polyret.runner.cells import parse_shard
    from polyret.runner.execute import RunOptions, run_experiment

    spec = load_spec(args.config)
    options = RunOptions(data_dir=args.data_dir, shard=parse_shard(args.shard), report=not args.no_report,
                         stop_after=args.max_cells, reuse_from=tuple(_folders(args.reuse_from)),
                         allow_spec_change=args.allow_spec_change)
    summary = run_experiment(spec, Path(args.out), options)
    _out(f"{len(summary.cells_done)} cell(s) run, {len(summary.cells_skipped)} already done, "
         f"{summary.cells_total} in the grid; {summary.seconds:.0f} s")
    if summary.report_html:
        _out(closing_lines(summary.report_html))
    return 0


def closing_lines(report_html: Path) -> str:
    """What a run ends with: the report's one-sentence answer (read back from its report.md) and the
    report's path."""
    from polyret.report.page import read_answer

    answer = read_answer(report_html.with_name("report.md"))
    lines = [f"answer: {answer}"] if answer else []
    return "\n".join([*lines, f"report: {report_html.resolve()}"])


NO_FOLDER_NOTE = ("no --out folder given: nothing to compare with, so every cell is listed as to do; "
                  "pass --out DIR to see what an experiment folder already holds")


def plan_cmd(args) -> int:
    from polyret.experiment.layout import ExperimentLayout
    from polyret.experiment.spec import load_spec
    from polyret.runner.cells import parse_shard, plan_cells, shard_cells
    from polyret.runner.plan import format_plan

    spec = load_spec(args.config)
    cells = shard_cells(plan_cells(spec), parse_shard(args.shard))
    layout = ExperimentLayout(args.out) if args.out else None
    if not args.power_only:
        _out(format_plan(spec, cells, layout, data_dir=args.data_dir, measure=not args.no_measure))
        if layout is None:
            _out(NO_FOLDER_NOTE)
    if args.variance_from:
        from polyret.runner.power import format_power, power_rows
        from polyret.runner.prereg import planned_prereg

        _out(format_power(power_rows(spec, Path(args.variance_from), planned_prereg(spec)), spec))
    return 0


def status_cmd(args) -> int:
    from polyret.runner.plan import format_status

    _out(format_status(Path(args.out)))
    return 0


def preregister_cmd(args) -> int:
    from polyret.experiment.spec import load_spec
    from polyret.runner.prereg import write_preregistration

    spec = load_spec(args.config)
    variance = Path(args.variance_from) if args.variance_from else None
    path = write_preregistration(spec, data_dir=args.data_dir, force=args.force, variance_from=variance)
    _out(f"wrote {path}; commit it before any trained model is scored")
    return 0


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
