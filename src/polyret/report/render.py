"""Assemble the report (a list of blocks) and write ``report.md``, one self-contained ``report.html``
(plots embedded as base64 PNG data URIs, no external resources) and ``plots/*.png``."""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyret.atomic import write_bytes, write_text
from polyret.report import tables
from polyret.report.analysis import comparison_rows
from polyret.report.collect import ExperimentData
from polyret.report.plots import all_plots
from polyret.report.stats import method_text, verdict

CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em;display:block;overflow-x:auto}
th,td{border:1px solid #ccc;padding:3px 6px}
th{background:#f0f0f0}td.best{background:#e8f4e8}.banner{background:#fff3cd;border:1px solid #e0c060;
padding:.6em 1em}.verdict{font-weight:600;border-left:4px solid #4a7;padding-left:.6em}
.note{font-size:.85em;color:#555}pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.8em}
img{max-width:100%}"""


@dataclass
class Block:
    kind: str  # h1 | h2 | p | banner | verdict | table | img | pre | list
    value: Any
    caption: str = ""


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
    out += [Block("h2", "Main table"), Block("table", tables.main_table(data))]
    paper, checks = tables.paper_table(data)
    out += [Block("h2", "The paper's comparison"), Block("list", checks), Block("table", paper)]
    out += [Block("h2", "Zero-shot vs published"), Block("table", tables.zero_shot_table(data))]
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
    sentence = verdict(primary, comp.a, comp.b, pre.primary_metric, pre.significance_level,
                       pre.equivalence_margin)
    if data.spec.demo:
        sentence += " (Demo-scale run: indicative only.)"
    out.append(Block("verdict", sentence))
    if "forest.png" in plots:
        out.append(Block("img", "forest.png", f"{comp.label} in {pre.primary_metric} per dataset x subset"))
    m = sum(1 for r in primary if not math.isnan(r.p))
    seeds = any(r.seed_aware for r in primary)
    out.append(Block("p", "Method. " + method_text(pre.primary_metric, m, pre.bootstrap,
                                                   pre.equivalence_margin, pre.pooled, seeds)))
    view = "seed-aware" if seeds else "one run per arm (paired t)"
    out.append(Block("table", tables.seed_aware_table(primary, f"Pre-registered family (Holm), {view}: "
                                                      "primary", pre.significance_level)))
    out.append(Block("table", tables.query_level_table(primary, "Pre-registered family, query-level: "
                                                       "secondary view")))
    for family, title in (("per-task", "Per-task cells of the pooled comparison (own Holm family; "
                                       "secondary)"),
                          ("secondary", "Secondary comparisons and metrics (Holm within each comparison x "
                                        "metric; exploratory)")):
        rows_f = [r for r in rows if r.family == family]
        if rows_f:
            out += [Block("table", tables.seed_aware_table(rows_f, title, pre.significance_level)),
                    Block("table", tables.query_level_table(rows_f, title + ", query-level view"))]
    return out


def _plots_section(data, plots) -> list[Block]:
    out = [Block("h2", "Plots")]
    alpha = tables.alpha_table(data)
    if alpha is not None:
        out.append(Block("table", alpha))
    captions = {"bars-": "mean ± std over seeds", "pairs-": "Cross mAP per language pair, per arm",
                "bias.png": "language bias, lower is better", "alpha.png": "alpha sweep",
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
    """``notes.md`` of the experiment folder (paragraphs separated by blank lines), if there is one:
    what the analysts found out beyond the generated numbers (e.g. why a zero-shot figure differs)."""
    path = data.root / NOTES_FILE
    if not path.is_file():
        return []
    paragraphs = [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    return [Block("h2", "Notes"), Block("p", f"Written by the analysts ({NOTES_FILE}), not generated."),
            *(Block("p", p) for p in paragraphs)]


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


# ------------------------------------------------------------------------------------- output
def to_markdown(blocks: list[Block], plot_dir: str = "plots") -> str:
    parts = []
    for b in blocks:
        if b.kind in ("h1", "h2"):
            parts.append(("# " if b.kind == "h1" else "## ") + b.value)
        elif b.kind == "banner":
            parts.append(f"> **{b.value}**")
        elif b.kind == "verdict":
            parts.append(f"**Answer:** {b.value}")
        elif b.kind == "table":
            parts.append(f"**{b.value.title}**\n\n{b.value.markdown()}")
        elif b.kind == "img":
            parts.append(f"![{b.caption}]({plot_dir}/{b.value})")
        elif b.kind == "pre":
            parts.append(f"```\n{b.value.rstrip()}\n```")
        elif b.kind == "list":
            parts.append("\n".join(f"- {x}" for x in b.value))
        else:
            parts.append(str(b.value))
    return "\n\n".join(parts) + "\n"


def to_html(blocks: list[Block], plots: dict[str, bytes]) -> str:
    body = []
    title = next((b.value for b in blocks if b.kind == "h1"), "polyret report")
    for b in blocks:
        text = html.escape(str(b.value)) if isinstance(b.value, str) else ""
        if b.kind in ("h1", "h2"):
            ident = b.value.lower().replace(" ", "-").replace("'", "")
            body.append(f"<{b.kind} id=\"{html.escape(ident)}\">{text}</{b.kind}>")
        elif b.kind == "banner":
            body.append(f"<div class=\"banner\"><b>{text}</b></div>")
        elif b.kind == "verdict":
            body.append(f"<p class=\"verdict\">Answer: {text}</p>")
        elif b.kind == "table":
            body.append(f"<h3>{html.escape(b.value.title)}</h3>{b.value.html()}")
        elif b.kind == "img":
            data = base64.b64encode(plots[b.value]).decode("ascii")
            body.append(f"<figure><img alt=\"{html.escape(b.caption)}\" src=\"data:image/png;base64,{data}\">"
                        f"<figcaption>{html.escape(b.caption)}</figcaption></figure>")
        elif b.kind == "pre":
            body.append(f"<pre>{text}</pre>")
        elif b.kind == "list":
            body.append("<ul>" + "".join(f"<li>{html.escape(str(x))}</li>" for x in b.value) + "</ul>")
        else:
            body.append(f"<p>{text}</p>")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
            f"</title><style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write(data: ExperimentData) -> tuple[Path, Path]:
    """Write plots/*.png, report.md and report.html into the experiment folder (atomically)."""
    blocks, plots = build(data)
    for name, png in plots.items():
        write_bytes(data.layout.plots / name, png)
    md = write_text(data.root / "report.md", to_markdown(blocks))
    page = write_text(data.root / "report.html", to_html(blocks, plots))
    return Path(md), Path(page)
