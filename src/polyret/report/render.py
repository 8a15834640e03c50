"""Assemble the report (a list of :class:`~polyret.report.page.Block`) and write ``report.md``, one
self-contained ``report.html`` (see :mod:`.page`) and ``plots/*.png``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from polyret.atomic import write_bytes, write_text
from polyret.report import tables
from polyret.report.analysis import comparison_rows, main_columns
from polyret.report.collect import ExperimentData
from polyret.report.formatting import (
    drop_constant_columns,
    split_columns,
    split_rows,
    tidy_number,
)
from polyret.report.page import Block, to_html, to_markdown
from polyret.report.plots import HEATMAP_CAPTION, all_plots
from polyret.report.stats import method_text, verdict
from polyret.stats.difference import Difference


def build(data: ExperimentData, plots: dict[str, bytes] | None = None
          ) -> tuple[list[Block], dict[str, bytes]]:
    """The report's blocks and its plots (``file name -> png``)."""
    spec, pre = data.spec, data.spec.preregistration
    rows = comparison_rows(data)
    primary = [r for r in rows if r.family == "primary"]
    comp = pre.primary_comparison
    if plots is None:
        plots = all_plots(data, primary, f"Research question: {comp.label if comp else ''}",
                          pre.significance_level)
    out = [Block("h1", f"polyret experiment report: {spec.name}")]
    if spec.description:
        out.append(Block("p", spec.description))
    if spec.demo:
        out.append(Block("banner", demo_banner(data)))
    out += _completeness(data)
    out += _research_question(data, rows, primary, plots)
    out += _main_table_section(data)
    out += _paper_section(data)
    out += _zero_shot_section(data)
    out += _notes_section(data)
    out += _plots_section(data, plots)
    out += _prereg_section(data)
    out += _setup_section(data)
    return out, plots


def training_recipe(data: ExperimentData) -> dict[str, Any] | None:
    """What every trained cell shares, read from the resolved cell configs (one value per key,
    or the distinct values joined when arms differ)."""
    configs = [c.config for cells in data.cells.values() for c in cells if c.kind == "trained" and c.config]
    if not configs:
        return None
    summaries = [c.train_summary or {} for cells in data.cells.values() for c in cells if c.kind == "trained"]

    def values(get) -> str:
        seen = sorted({str(get(cfg)) for cfg in configs})
        return seen[0] if len(seen) == 1 else " / ".join(seen)

    used = sorted({_used_precision(s) for s in summaries if s})
    return {
        "max_steps": values(lambda c: c["train"]["max_steps"]),
        "batch_size": values(lambda c: c["sampling"]["batch_size"]),
        "max_query_length": values(lambda c: c["model"]["max_query_length"]),
        "max_passage_length": values(lambda c: c["model"]["max_passage_length"]),
        "lr": values(lambda c: c["train"]["lr"]),
        "select": values(lambda c: c["train"].get("select", "best validation loss")),
        "frozen": any(c["model"].get("freeze_token_embeddings") for c in configs),
        "precision": (values(lambda c: c["train"].get("precision", c["train"].get("mixed_precision")))
                      + (f" (used: {', '.join(used)})" if used else "")),
    }


def _used_precision(summary: dict[str, Any]) -> str:
    value = summary.get("precision", summary.get("mixed_precision", "?"))
    return str(value.get("used", "?")) if isinstance(value, dict) else str(value)


def demo_banner(data: ExperimentData) -> str:
    spec = data.spec
    recipe = training_recipe(data)
    steps = (f"{recipe['max_steps']} steps at batch {recipe['batch_size']}" if recipe
             else "no trained cell yet:")
    suites = "; ".join(
        f"{s.task} (query/passage {s.max_query_length}/{s.max_passage_length} tokens"
        + (f", {s.max_queries} queries subsampled" if s.max_queries else ", all queries")
        + (f", languages {' '.join(s.languages)}" if s.languages else "") + ")" for s in spec.suites)
    note = f" {spec.demo_note.strip().rstrip('.')}." if spec.demo_note.strip() else ""
    return (f"DEMO-SCALE RUN: not an answer to the research question.{note} Training: {steps} per "
            f"cell, {len(spec.seeds)} seed(s). Evaluation: {suites}.")


def _completeness(data: ExperimentData) -> list[Block]:
    expected = len(data.spec.arm_names) * len(data.spec.seeds) + len(data.spec.references)
    done = sum(len(v) for v in data.cells.values())
    if not data.missing:
        return [Block("p", f"Complete grid: {done} of {expected} cells done, every suite evaluated.")]
    return [Block("h2", "Missing"),
            Block("p", f"Partial grid: {done} of {expected} cells done. Missing or incomplete "
                       "(left out of the tables below, shown as 'missing'):"),
            Block("list", list(data.missing))]


def _research_question(data, rows, primary, plots) -> list[Block]:
    pre = data.spec.preregistration
    comp = pre.primary_comparison
    out = [Block("h2", "Research question")]
    if pre.research_question:
        out.append(Block("p", pre.research_question))
    if comp is None:
        return out + [Block("p", "No primary comparison is pre-registered.")]
    out.append(Block("verdict", answer(data, primary)))
    if "forest.png" in plots:
        out.append(Block("img", "forest.png", f"{comp.label} in {pre.primary_metric} per dataset x subset"))
    m = sum(1 for r in primary if not math.isnan(r.p))
    seeds = any(r.seed_aware for r in primary)
    out.append(Block("p", "Method. " + method_text(pre.primary_metric, m, pre.bootstrap,
                                                   pre.equivalence_margin, pre.pooled, seeds)))
    view = "seed-aware" if seeds else "one run per arm (paired t)"
    out += _fitted(tables.seed_aware_table(primary, f"Pre-registered family (Holm), {view}: primary",
                                           pre.significance_level))
    out += _fitted(tables.query_level_table(primary, "Pre-registered family, query-level: secondary view"))
    for family, title in (("per-task", "Per-task cells of the pooled comparison (own Holm family; "
                                       "secondary)"),
                          ("secondary", "Secondary comparisons and metrics (Holm within each comparison x "
                                        "metric; exploratory)")):
        rows_f = [r for r in rows if r.family == family]
        if rows_f:
            out += _fitted(tables.seed_aware_table(rows_f, title, pre.significance_level))
            out += _fitted(tables.query_level_table(rows_f, title + ", query-level view"))
    return out


def answer(data: ExperimentData, primary: list[Difference]) -> str:
    """The report's one-sentence answer (:func:`~polyret.report.stats.verdict`), followed, where a raw
    result and the Holm-corrected one disagree, by why (a raw p below alpha or a CI that excludes zero
    that does not survive the correction for the whole family)."""
    pre = data.spec.preregistration
    comp = pre.primary_comparison
    sentence = tidy_number(verdict(primary, comp.a, comp.b, pre.primary_metric, pre.significance_level,
                                   pre.equivalence_margin))
    sentence += raw_vs_corrected(primary, pre.significance_level)
    if data.spec.demo:
        sentence += " (Demo-scale run: indicative only.)"
    return sentence


def raw_vs_corrected(rows: list[Difference], level: float) -> str:
    """A sentence on the cells whose uncorrected evidence (p < level, or a 95 % CI excluding zero)
    is not significant after Holm's correction; empty when there is none."""
    tested = [r for r in rows if not math.isnan(r.p_holm)]
    raw = [r for r in tested if not r.significant(level)
           and (r.p < level or (not math.isnan(r.ci_low) and (r.ci_low > 0 or r.ci_high < 0)))]
    if not raw:
        return ""
    cells = ", ".join(f"{r.task.split('/')[-1]} / {r.subset} (raw p = {r.p:.3g}, 95 % CI "
                      f"{tidy_number(f'{r.ci_low:+.4f}')} to {tidy_number(f'{r.ci_high:+.4f}')}, "
                      f"Holm p = {r.p_holm:.3g})" for r in raw)
    return (f" Uncorrected, {len(raw)} of {len(tested)} cells look different from zero: {cells}; the raw "
            f"p-value and CI treat each cell alone, and Holm's correction for the {len(tested)} tests of the "
            f"family lifts their p-values above {level:g}, so they are not counted as evidence.")


def _fitted(table: tables.Table) -> list[Block]:
    """A comparison table as blocks: split by comparison x metric, each without its constant columns."""
    return [Block("table", t) for t in _comparison_tables(table)]


def _comparison_tables(table: tables.Table) -> list[tables.Table]:
    """The comparison table split by comparison x metric, each without its constant columns."""
    key = [c for c, h in enumerate(table.header) if h in ("comparison", "metric")]
    return [drop_constant_columns(t, keep=0) for t in split_rows(table, key)] if key else [table]


def _main_table_section(data: ExperimentData) -> list[Block]:
    """The main table, one table per suite (each with the model column) so that every one fits."""
    table = tables.main_table(data)
    cols = main_columns(data)
    out = [Block("h2", table.title)]
    if len(cols) != len(table.header) - 1:  # not the layout this split expects: show it whole
        return out + [Block("table", table)]
    groups: dict[str, list[int]] = {}
    for i, col in enumerate(cols):
        groups.setdefault(col.slug, []).append(i + 1)
    names = {s.slug: s.task for s in data.spec.suites}
    parts = split_columns(table, [(names.get(slug, slug), idx) for slug, idx in groups.items()])
    for i, part in enumerate(parts):
        part.note = table.note if i == len(parts) - 1 else ""
        out.append(Block("table", part))
    return out


PAPER_POOL = "every language and every question of the test set (the full candidate pool)"


def _paper_section(data: ExperimentData) -> list[Block]:
    """Our LAReQA rows beside the paper's, with a caveat wherever the evaluation settings differ."""
    paper, checks = tables.paper_table(data)
    out = [Block("h2", paper.title)]
    if not paper.rows or len(paper.header) < 2:
        return out + [Block("p", "No XQuAD-R or MLQA-R suite in this experiment.")]
    differ = [f"{s.task}: " + ", ".join(
        ([f"languages {' '.join(s.languages)} only"] if s.languages else [])
        + ([f"{s.max_queries} questions subsampled"] if s.max_queries else []))
        for s in data.spec.suites if s.slug in ("xquad-r", "mlqa-r") and (s.languages or s.max_queries)]
    if differ:
        out.append(Block("caveat", "Not comparable with the paper's figures: this run evaluates "
                         + "; ".join(differ) + f", while the paper's figures cover {PAPER_POOL}. A smaller "
                         "pool changes mAP and the bias scale, so the paper's rows are for orientation "
                         "only and the checks below say nothing about the paper's claims."))
    return out + [Block("list", checks), Block("table", paper)]


MTEB_SETTINGS = (512, 512)  # MTEB's query / passage lengths (tokens) for the published figures


def _zero_shot_section(data: ExperimentData) -> list[Block]:
    """Zero-shot vs MTEB, only when the zero-shot model was evaluated; a caveat where the settings
    differ from MTEB's; ArguAna's self-hit rule mentioned only when ArguAna is evaluated."""
    if "zero-shot" not in data.spec.references:
        return []
    table = tables.zero_shot_table(data)
    beir = [s for s in data.spec.suites if s.task.startswith("beir/")]
    if not any("arguana" in s.task for s in beir):
        table.note = "; ".join(p for p in table.note.split("; ") if "ArguAna" not in p).rstrip(".") + "."
    out = [Block("h2", table.title)]
    differ = [s.task for s in beir
              if (s.max_query_length, s.max_passage_length) != MTEB_SETTINGS or s.max_queries]
    if differ:
        out.append(Block("caveat", f"Settings differ from MTEB's ({MTEB_SETTINGS[0]} tokens, every query) "
                         f"on {', '.join(differ)}: the differences there are not a replication check."))
    return out + [Block("table", table)]


def _plots_section(data, plots) -> list[Block]:
    out = [Block("h2", "Plots")]
    alpha = tables.alpha_table(data)
    if alpha is not None:
        out.append(Block("table", alpha))
    captions = {"bars-": "mean per row, ± std over seeds where a row has two or more runs; each panel on "
                         "its own zoomed axis",
                "pairs-": HEATMAP_CAPTION + ", per row (mean over seeds)",
                "bias.png": "language bias, lower is better",
                "alpha.png": "alpha sweep, one panel per metric",
                "loss.png": "training curves"}
    for name in plots:
        if name == "forest.png":
            continue
        cap = next((c for k, c in captions.items() if name.startswith(k)), "")
        out.append(Block("img", name, f"{name[:-4]}: {cap}"))
    return out


def _prereg_section(data) -> list[Block]:
    pre = data.spec.preregistration
    out = [Block("h2", "Pre-registration"),
           Block("p", f"File {pre.file}; {_fixed_by(data.prereg)}. Primary metric {pre.primary_metric}; "
                      f"secondary {', '.join(pre.secondary_metrics) or 'none'}; correction {pre.correction}; "
                      f"alpha {pre.significance_level:g}.")]
    if pre.hypotheses:
        out.append(Block("list", list(pre.hypotheses)))
    return out + [Block("table", tables.prereg_table(data))]


def _commit_line(man: dict) -> str:
    """The commit the last run recorded and, where results were committed on top, the code's commit."""
    head, code = man.get("git_commit", "?"), man.get("code_commit")
    dirty = " with local changes to src" if man.get("git_dirty") else ""
    if code and code != head:
        return f"git commit {head} (results on top of code commit {code}){dirty}"
    return f"git commit {head}{dirty}"


def _fixed_by(prereg: dict) -> str:
    """Where the runner found the pre-registration in git (``fixed_by``, see ``commit_fixing``)."""
    fixed = prereg.get("fixed_by") or {}
    if not fixed.get("commit"):
        return "not committed when the grid ran (no fixing commit recorded)"
    when = f" ({fixed['date']})" if fixed.get("date") else ""
    changed = ("; CHANGED after that commit (see git log)" if fixed.get("changed_since")
               else "; unchanged since")
    return f"fixed at commit {fixed['commit']}{when}{changed}"


NOTES_FILE = "notes.md"  # the analysts' own notes in an experiment folder, shown as written


def _notes_section(data) -> list[Block]:
    """``notes.md`` of the experiment folder (Markdown), if there is one: what the analysts found out
    beyond the generated numbers (e.g. why a zero-shot figure differs)."""
    path = data.root / NOTES_FILE
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8").strip()
    return [Block("h2", "Notes"), Block("p", f"Written by the analysts ({NOTES_FILE}), not generated."),
            Block("md", text)] if text else []


def _setup_section(data) -> list[Block]:
    import yaml

    man = data.manifest
    recipe = training_recipe(data)
    budget = ("no trained cell yet" if not recipe else
              f"Training budget: {recipe['max_steps']} steps per cell at batch {recipe['batch_size']} "
              f"(queries <= {recipe['max_query_length']}, "
              f"passages <= {recipe['max_passage_length']} tokens), "
              f"lr {recipe['lr']}, model selection: {recipe['select']}; frozen weights: "
              f"{'token embeddings' if recipe['frozen'] else 'none (full fine-tuning)'}; training precision "
              f"{recipe['precision']}")
    out = [Block("h2", "Setup, provenance and cost"),
           Block("p", f"{budget}. Evaluation precision {data.spec.precision}."),
           Block("table", tables.cost_table(data)),
           Block("p", f"polyret {man.get('polyret_version', '?')}, {_commit_line(man)}, "
                      f"spec hash {man.get('spec_hash', '?')}."),
           Block("pre", "machine: " + json.dumps(man.get("machine", {}), indent=1, sort_keys=True)
                 + "\nversions: " + json.dumps(man.get("versions", {}), indent=1, sort_keys=True)),
           Block("pre", "data fingerprints: " + json.dumps(man.get("data_fingerprints", {}), indent=1,
                                                            sort_keys=True)),
           Block("p", "Resolved experiment config:"),
           Block("pre", yaml.safe_dump(data.spec.to_dict(), sort_keys=False, allow_unicode=True))]
    return out


def write(data: ExperimentData) -> tuple[Path, Path]:
    """Write plots/*.png, report.md and report.html into the experiment folder (atomically)."""
    blocks, plots = build(data)
    for name, png in plots.items():
        write_bytes(data.layout.plots / name, png)
    md = write_text(data.root / "report.md", to_markdown(blocks))
    page = write_text(data.root / "report.html", to_html(blocks, plots))
    return Path(md), Path(page)
