"""Text for ``polyret experiment plan`` and ``polyret experiment status``."""

from __future__ import annotations

from pathlib import Path

from polyret.errors import UserError
from polyret.evaluation.kept_runs import BYTES_PER_LINE
from polyret.experiment.layout import ExperimentLayout
from polyret.experiment.spec import ExperimentSpec, spec_from_dict
from polyret.runner.cells import CellPlan, plan_cells
from polyret.runner.estimate import (
    CellEstimate,
    count_suite,
    estimate_cells,
    measure_throughput,
    with_measured,
)


def _hms(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _finished(layout: ExperimentLayout | None) -> dict[str, dict]:
    if layout is None or not layout.cells_dir.is_dir():
        return {}
    return {r.cell_id: r.timings for r in layout.cells() if r.status == "done"}


def format_plan(spec: ExperimentSpec, cells: list[CellPlan], layout: ExperimentLayout | None,
                data_dir: str | None = None, measure: bool = True) -> str:
    """Cells, what is done, and the time each would take on this machine."""
    from polyret.hardware import machine_info
    from polyret.modeling.registry import load_model

    done = _finished(layout)
    lines = [f"experiment {spec.name}: {len(cells)} cell(s); arms {', '.join(spec.arm_names)}; "
             f"seeds {spec.seeds}; references {', '.join(spec.references) or 'none'}"]
    machine = machine_info()
    lines.append(f"machine: {machine['cpu_model']} ({machine['cpu_count']} cores, torch threads "
                 f"{machine['torch_threads']}, bf16 flags {machine['cpu_bf16_flags'] or 'none'}, "
                 f"GPU {machine['gpu'] or 'none'})")
    tokenizer = load_model(spec.base_model).tokenizer
    work = {s.task: count_suite(s, tokenizer, data_dir) for s in spec.suites}
    lines.append("evaluation work per model (texts / tokens after truncation):")
    for s in spec.suites:
        w = work[s.task]
        lines.append(f"  {s.task:<16} q<={s.max_query_length:<4} p<={s.max_passage_length:<4} "
                     f"{w.texts:>7,} texts {w.tokens:>10,} tokens" + _run_size(w.run_lines))
    lines.append(f"kept runs (gzip TREC, all cells): about {_kept_runs_mb(spec, cells, work):.1f} MB")
    if measure:
        first = next((c for c in cells if c.kind == "trained"), None)
        tp = measure_throughput(spec, first, data_dir)
        per_tok = ", ".join(f"{1 / v:,.0f} tok/s at {k}" for k, v in sorted(tp.seconds_per_token.items()))
        lines.append(f"throughput ({'cached' if tp.cached else 'measured now'}, {tp.precision}): "
                     f"encode {per_tok}; training {tp.train_s_per_step:.2f} s/step")
        estimates = with_measured(estimate_cells(spec, cells, work, tp), done)
        lines += _estimate_table(estimates, done)
    else:
        lines += [f"  {c.cell_id:<34} {'done' if c.cell_id in done else 'to do'}" for c in cells]
    return "\n".join(lines)


def _run_size(lines: int) -> str:
    return f"  kept run {lines * BYTES_PER_LINE / 1e3:,.0f} kB" if lines else ""


def _kept_runs_mb(spec: ExperimentSpec, cells: list[CellPlan], work: dict) -> float:
    """The kept runs of every cell's evaluations (:mod:`polyret.evaluation.kept_runs`), in MB."""
    lines = sum(work[s.task].run_lines for c in cells for s in c.suites(spec))
    return lines * BYTES_PER_LINE / 1e6


def _estimate_table(estimates: list[CellEstimate], done: dict[str, dict]) -> list[str]:
    lines = [f"{'cell':<34} {'status':<7} {'train':>9} {'evaluate':>9} {'total':>9}"]
    for e in estimates:
        status = "done" if e.cell_id in done else "to do"
        mark = "" if e.measured else "~"
        lines.append(f"{e.cell_id:<34} {status:<7} {mark + _hms(e.train_s):>9} {mark + _hms(e.eval_s):>9} "
                     f"{mark + _hms(e.total_s):>9}")
    left = sum(e.total_s for e in estimates if e.cell_id not in done)
    total = sum(e.total_s for e in estimates)
    trained = [e for e in estimates if e.train_s > 0]
    per_cell = sum(e.total_s for e in trained) / len(trained) if trained else 0.0
    lines.append(f"total {_hms(total)} (~ estimated, else measured); left {_hms(left)}; "
                 f"per trained cell ~{_hms(per_cell)}")
    return lines


def training_progress(train_dir: Path) -> tuple[int, float] | None:
    """``(step, s_per_step)`` of the last logged training step in ``train_dir/metrics.jsonl``."""
    from polyret.training.callbacks import read_metrics

    path = train_dir / "metrics.jsonl"
    rows = read_metrics(path) if path.is_file() else []  # a line cut short by a kill is skipped
    last = next((r for r in reversed(rows) if "s_per_step" in r and "step" in r), None)
    return None if last is None else (int(last["step"]), float(last["s_per_step"]))


def _cell_line(layout: ExperimentLayout, spec: ExperimentSpec, c: CellPlan, r) -> tuple[str, float | None]:
    """One status line, and the s/step of a training in progress (else None)."""
    status = r.status if r else "to do"
    total = r.timings.get("total_s") if r else None
    suites = len(layout.results(c.cell_id)) if r else 0
    line = f"  {c.cell_id:<34} {status:<8} {suites}/{len(c.suites(spec))} suites" + (
        f"  {_hms(total)}" if total else "")
    progress = (training_progress(layout.train_dir(c.cell_id))
                if r and c.kind == "trained" and not r.train_summary else None)
    if progress is None:
        return line, None
    step, sps = progress
    max_steps = int(c.config.get("train", {}).get("max_steps", step))
    return (line + f"  training step {step}/{max_steps} at {sps:.1f} s/step "
                   f"(~{_hms(max(max_steps - step, 0) * sps)} to go)"), sps


def format_status(out: Path) -> str:
    """Cells done / total, cost so far, and an ETA from the cells already measured, scaled to the
    speed of a training in progress when that runs at another pace (another machine)."""
    from polyret.config import read_yaml

    layout = ExperimentLayout(out)
    if not layout.spec_file.is_file():
        raise UserError(f"{out}: not an experiment folder (no experiment.yaml)")
    spec = spec_from_dict(read_yaml(layout.spec_file), str(layout.spec_file))
    cells = plan_cells(spec)
    records = {r.cell_id: r for r in layout.cells()}
    done = [c for c in cells if c.cell_id in records and records[c.cell_id].status == "done"]
    lines = [f"{out}: experiment {spec.name}, {len(done)}/{len(cells)} cells done"]
    spent, current = 0.0, None
    for c in cells:
        r = records.get(c.cell_id)
        spent += float((r.timings.get("total_s") if r else None) or 0.0)
        line, sps = _cell_line(layout, spec, c, r)
        current = sps if sps is not None else current
        lines.append(line)
    lines.append(f"spent {_hms(spent)} in finished cells{_eta(cells, done, records, current)}")
    unknown = sorted(set(records) - {c.cell_id for c in cells})
    if unknown:
        lines.append(f"cells from another config version (ignored): {', '.join(unknown)}")
    return "\n".join(lines)


def _eta(cells: list[CellPlan], done: list[CellPlan], records: dict, current: float | None) -> str:
    """``; ETA ~h:mm:ss`` for the trained cells left: the finished ones' mean time, times the ratio
    of the running training's s/step to theirs (the whole cell is assumed to scale alike)."""
    finished = [records[c.cell_id] for c in done if c.kind == "trained"]
    left = [c for c in cells if c not in done and c.kind == "trained"]
    if not finished or not left:
        return ""
    per_cell = sum(r.timings.get("total_s", 0.0) for r in finished) / len(finished)
    paces = [r.train_summary["s_per_step"] for r in finished
             if r.train_summary and r.train_summary.get("s_per_step")]
    if current is None or not paces:
        return f"; ETA ~{_hms(per_cell * len(left))}"
    past = sum(paces) / len(paces)
    return (f"; ETA ~{_hms(per_cell * current / past * len(left))} (finished cells trained at "
            f"{past:.1f} s/step, the running one at {current:.1f})")
