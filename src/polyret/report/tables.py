"""The report's tables as plain data (:class:`Table`), rendered to Markdown or HTML."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from polyret.report import collect
from polyret.report.analysis import Column, alpha_of, column_values, main_columns
from polyret.report.collect import ExperimentData
from polyret.report.stats import mean_ranks, mean_std
from polyret.stats.difference import Difference

NA = "–"  # not applicable (BM25 on LAReQA)
MISSING = "missing"

# The paper's Table 1-2 (arXiv 2408.10536): model -> batches -> suite -> (Mono, Cross, Multi mAP, bias).
PAPER = {
    "XLM-R": {"X-X": {"xquad-r": (.792, .674, .547, 410), "mlqa-r": (.648, .584, .473, 288)},
              "X-Y": {"xquad-r": (.755, .700, .593, 295), "mlqa-r": (.626, .620, .508, 227)},
              "hybrid": {"xquad-r": (.798, .705, .593, 287), "mlqa-r": (.648, .623, .512, 227)}},
    "LaBSE": {"X-X": {"xquad-r": (.808, .752, .652, 262), "mlqa-r": (.681, .656, .550, 225)},
              "X-Y": {"xquad-r": (.801, .762, .679, 225), "mlqa-r": (.671, .677, .576, 198)},
              "hybrid": {"xquad-r": (.817, .767, .682, 221), "mlqa-r": (.686, .681, .579, 195)}},
}
STRATEGY_BATCHES = {"mono": "X-X", "cross": "X-Y", "hybrid": "hybrid"}


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]
    best: set[tuple[int, int]] = field(default_factory=set)  # (row, column) shown in bold
    note: str = ""

    def markdown(self) -> str:
        def cell(r: int, c: int, text: str) -> str:
            text = text.replace("|", "\\|")
            return f"**{text}**" if (r, c) in self.best else text

        lines = [f"| {' | '.join(self.header)} |", "|" + "---|" * len(self.header)]
        lines += [f"| {' | '.join(cell(r, c, t) for c, t in enumerate(row))} |"
                  for r, row in enumerate(self.rows)]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines)

    def html(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = []
        for r, row in enumerate(self.rows):
            tds = "".join(f"<td class=\"best\"><b>{html.escape(t)}</b></td>" if (r, c) in self.best
                          else f"<td>{html.escape(t)}</td>" for c, t in enumerate(row))
            body.append(f"<tr>{tds}</tr>")
        note = f"<p class=\"note\">{html.escape(self.note)}</p>" if self.note else ""
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{note}"


def fmt(value: float | None, digits: int = 3) -> str:
    return MISSING if value is None or math.isnan(value) else f"{value:.{digits}f}"


def fmt_mean_std(values: Sequence[float | None], digits: int = 3) -> str:
    mean, std, n = mean_std(values)
    if n == 0:
        return MISSING
    return f"{mean:.{digits}f}" if n == 1 else f"{mean:.{digits}f} ± {std:.{digits}f}"


def _digits(col: Column) -> int:
    return 1 if col.kind == "bias" else 3


def best_as_shown(columns: Sequence[Sequence[float]], offset: int, digits: Sequence[int],
                  lower_is_better: Sequence[bool]) -> set[tuple[int, int]]:
    """(row, column + offset) of each column's best value as shown (rounded; ties all best; NaN skipped)."""
    best = set()
    for c, (column, d, lower) in enumerate(zip(columns, digits, lower_is_better, strict=True)):
        shown = [round(v, d) for v in column]  # round(nan) stays nan
        finite = [v for v in shown if not math.isnan(v)]
        if finite:
            target = min(finite) if lower else max(finite)
            best |= {(r, c + offset) for r, v in enumerate(shown) if v == target}
    return best


def main_table(data: ExperimentData) -> Table:
    """Arms and references x main columns, mean ± std over seeds, best per column in bold."""
    cols = main_columns(data)
    rows, means = [], []
    for name in data.rows:
        runs = len(data.cells.get(name, []))
        label = name if name in data.spec.references else f"{name} ({runs} seed{'' if runs == 1 else 's'})"
        cells, row_means = [label], []
        for col in cols:
            values = column_values(data, name, col)
            if name == "bm25" and col.kind in ("lareqa", "bias"):
                cells.append(NA)
                row_means.append(math.nan)
                continue
            cells.append(fmt_mean_std(values, _digits(col)))
            row_means.append(mean_std(values)[0])
        rows.append(cells)
        means.append(row_means)
    best = best_as_shown(list(zip(*means, strict=True)), 1, [_digits(c) for c in cols],
                         [c.lower_is_better for c in cols])
    note = ("Mean ± std over seeds (sample std); bold = best in the column (bias: lower is better). "
            "LAReQA mAP over the whole pool (no cutoff), macro over languages; BEIR subset columns are "
            "the mean per-query score over the pre-registered query ids.")
    return Table("Main table", ["model"] + [c.label for c in cols], rows, best, note)


def number(value: float | None, digits: int = 4, signed: bool = False) -> str:
    """One number as the report prints it: fixed digits, ``+`` when ``signed``, never ``-0.0000``
    (a value that rounds to zero prints unsigned), ``missing`` for None / NaN. Reuse it for every table."""
    if value is None or math.isnan(value):
        return MISSING
    if math.isinf(value):
        return "+inf" if value > 0 and signed else ("inf" if value > 0 else "-inf")
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    if float(text) == 0:
        text = f"{0:.{digits}f}"
    return text


def interval(low: float, high: float, digits: int = 4) -> str:
    """``[low, high]`` with :func:`number` (signed)."""
    if math.isnan(low) or math.isnan(high):
        return MISSING
    return f"[{number(low, digits, True)}, {number(high, digits, True)}]"


def _p(p: float) -> str:
    return MISSING if math.isnan(p) else f"{p:.4f}" if p >= 1e-4 else f"{p:.1e}"


def _seeds(r: Difference) -> str:
    return f"{r.seeds_a} / {r.seeds_b}"


def seed_aware_table(rows: Sequence[Difference], title: str, level: float) -> Table:
    """The primary view: the seed-aware estimate, SE (query-only SE beside it), df, CI, p, Holm p, the
    TOST equivalence p (Holm) and the outcome (difference / equivalent / inconclusive)."""
    margin = next((r.margin for r in rows if r.margin is not None), None)
    out = []
    for r in rows:
        tost = NA if r.margin is None else _p(r.tost_p_holm)
        outcome = NA if math.isnan(r.p_holm) else r.outcome(level)
        out.append([r.comparison, r.task, r.subset, r.metric, str(r.n), _seeds(r), number(r.mean_a),
                    number(r.mean_b), number(r.diff, signed=True), number(r.se), number(r.se_query),
                    number(r.df, 1), interval(r.ci_low, r.ci_high), _p(r.p), _p(r.p_holm), tost, outcome,
                    r.note])
    tost_head = f"TOST p (Holm), ±{margin:g}" if margin is not None else "TOST p (Holm)"
    header = ["comparison", "dataset", "subset", "metric", "queries", "seeds a / b", "mean a", "mean b",
              "a - b", "SE", "SE (queries only)", "df", "95 % CI", "p", "p (Holm)", tost_head,
              f"outcome (alpha {level:g})", "note"]
    note = ("Seed-aware: queries and training seeds random (crossed model, exact balanced ANOVA, "
            "Satterthwaite df); seeds are not paired across arms. 'SE (queries only)' is what a "
            "query-level test uses, for comparison. Outcome: difference when p (Holm) < alpha, "
            "equivalent when the TOST p (Holm) < alpha, else inconclusive.")
    return Table(title, header, out, note=note)


def query_level_table(rows: Sequence[Difference], title: str) -> Table:
    """The secondary view: per-query differences of seed means (seed variance left out)."""
    out = []
    for r in rows:
        err = ("exact" if r.q_p_error == 0 else
               MISSING if math.isnan(r.q_p_error) else f"± {r.q_p_error:.4f}")
        out.append([r.comparison, r.task, r.subset, r.metric, str(r.n), number(r.diff, signed=True),
                     interval(r.q_ci_low, r.q_ci_high), _p(r.q_p), err, _p(r.q_p_holm), number(r.d_z, 2)])
    header = ["comparison", "dataset", "subset", "metric", "queries", "a - b", "95 % CI (bootstrap)",
              "p (sign-flip)", "p Monte Carlo error (99 %)", "p (Holm)", "d_z"]
    note = ("Secondary, query-level: each arm's per-query scores averaged over its seeds, paired by "
            "query; the training seed's variance is left out, so these CIs are narrower than the "
            "seed-aware ones and are not used for the answer.")
    return Table(title, header, out, note=note)


def paper_arms(data: ExperimentData) -> dict[str, str]:
    """Batches label (X-X, X-Y, hybrid) -> our arm: the mono / cross arm (else hybrid at alpha 1 / 0),
    the hybrid closest to alpha 0.5."""
    found: dict[str, str] = {}
    for arm in data.spec.arms:
        label = STRATEGY_BATCHES.get(arm.strategy)
        if label == "hybrid":
            prev = found.get("hybrid")
            distance = abs((arm.alpha or 0) - 0.5)
            if prev is not None and abs((data.spec.arm(prev).alpha or 0) - 0.5) <= distance:
                continue
        if label and (label == "hybrid" or label not in found):
            found[label] = arm.name
    for label, alpha in (("X-X", 1.0), ("X-Y", 0.0)):  # an alpha sweep: hybrid at alpha 1 / 0
        edge = [a.name for a in data.spec.arms if a.strategy == "hybrid" and a.alpha == alpha]
        if label not in found and edge:
            found[label] = edge[0]
    return {label: found[label] for label in ("X-X", "X-Y", "hybrid") if label in found}


def paper_table(data: ExperimentData) -> tuple[Table, list[str]]:
    """Our LAReQA rows beside the paper's Table 1-2, and the two checks as sentences."""
    arms = paper_arms(data)
    suites = [s for s in data.spec.suites if s.is_lareqa and s.slug in ("xquad-r", "mlqa-r")]
    header = ["model / batches"] + [f"{s.task.upper()} {h}" for s in suites
                                    for h in ("Mono", "Cross", "Multi", "bias")]
    rows, ours = [], {}
    for label, arm in arms.items():
        cells = [f"polyret {label} ({arm})"]
        for s in suites:
            vals = [mean_std(column_values(data, arm, Column("", "", s.slug, kind, setting)))[0]
                    for kind, setting in (("lareqa", "mono"), ("lareqa", "cross"), ("lareqa", "multi"),
                                          ("bias", "bias"))]
            ours[(label, s.slug)] = vals
            cells += [fmt(v, 3) for v in vals[:3]] + [fmt(vals[3], 1)]
        rows.append(cells)
    for model, by_batch in PAPER.items():
        for label, by_suite in by_batch.items():
            cells = [f"paper {model} {label}"]
            for s in suites:
                m, c, x, b = by_suite[s.slug]
                cells += [f"{m:.3f}", f"{c:.3f}", f"{x:.3f}", f"{b:d}"]
            rows.append(cells)
    return Table("Paper comparison (arXiv 2408.10536, Table 1-2)", header, rows), _paper_checks(ours, suites)


def _paper_checks(ours: dict, suites) -> list[str]:
    lines = []
    for s in suites:
        name = s.task.upper()
        get = {lab: ours.get((lab, s.slug)) for lab in ("X-X", "X-Y", "hybrid")}
        if any(v is None for v in get.values()):
            lines.append(f"{name}: the mono, cross and hybrid arms are needed for the paper's checks.")
            continue
        multi = {k: v[2] for k, v in get.items()}
        bias = {k: v[3] for k, v in get.items()}
        if any(math.isnan(v) for v in (*multi.values(), bias["hybrid"], bias["X-X"])):
            lines.append(f"{name}: results missing for the paper's checks.")
            continue
        top = max(multi["X-X"], multi["X-Y"])
        up, low = multi["hybrid"] >= top, bias["hybrid"] <= bias["X-X"]
        lines.append(f"{name}: hybrid Multi mAP {multi['hybrid']:.3f} {'>=' if up else '<'} max(mono, cross) "
                     f"{top:.3f} ({_holds(up)}; paper: holds for XLM-R and LaBSE); hybrid bias "
                     f"{bias['hybrid']:.1f} {'<=' if low else '>'} mono bias {bias['X-X']:.1f} "
                     f"({_holds(low)}; paper: holds). Means over seeds; no test.")
    return lines


def _holds(ok: bool) -> str:
    return "holds" if ok else "does not hold"


def zero_shot_table(data: ExperimentData) -> Table:
    """Zero-shot BEIR nDCG@10 beside MTEB's published multilingual-e5-small figures."""
    rows = []
    for suite in data.spec.suites:
        if not suite.task.startswith("beir/"):
            continue
        runs = data.runs("zero-shot", suite.slug)
        ours = collect.beir_metric(runs[0], "nDCG@10") if runs else None
        pub = collect.MTEB_E5_SMALL.get(suite.task)
        hits = collect.self_hits_removed(runs[0]) if runs else None
        diff = f"{ours * 100 - pub:+.1f}" if ours is not None and pub is not None else NA
        rows.append([suite.task, fmt(None if ours is None else ours * 100, 1),
                     NA if pub is None else f"{pub:.1f}", diff,
                     f"{suite.max_query_length} / {suite.max_passage_length}",
                     NA if hits is None else str(hits),
                     "all" if suite.max_queries is None else f"subsample of {suite.max_queries}"])
    note = (f"Base model {data.spec.base_model}. MTEB: nDCG@10 at 512 tokens with the original weights; "
            "MTEB drops a query's own document on ArguAna, as polyret does (self-hits column).")
    return Table("Zero-shot vs published (MTEB)",
                 ["dataset", "polyret nDCG@10", "MTEB", "difference", "query / passage tokens",
                  "self-hits removed", "queries"], rows, note=note)


def machine_label(machine: dict | None) -> str:
    """``"AMD EPYC, avx512_bf16"``, ``"Intel Xeon, amx_bf16"``, a GPU's name, or ``–``: the kind of
    machine, which decides the bf16 arithmetic (a retrained model is bit-identical only on one kind)."""
    if not machine:
        return NA
    if machine.get("gpu"):
        return str(machine["gpu"])
    cpu = " ".join(str(machine.get("cpu_model") or "?").replace("(R)", "").replace("Processor", "").split())
    flags = machine.get("cpu_bf16_flags") or []
    return f"{cpu}, {flags[0] if flags else 'no bf16 instructions'}"  # amx_bf16 sorts first


def cost_table(data: ExperimentData) -> Table:
    """Seconds per cell (train, evaluation) and for the whole grid, with each training run's s/step
    and the machine that trained the cell (a reference cell: that evaluated it)."""
    rows, total, run_here = [], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
    for cell in data.all_cells:
        t = cell.timings or {}
        train = float(t.get("train_s") or 0.0)
        ev = t.get("eval_s") or {}
        ev_s = float(sum(ev.values())) if isinstance(ev, dict) else float(ev or 0.0)
        tot = float(t.get("total_s") or train + ev_s)
        for i, v in enumerate((train, ev_s, tot)):
            total[i] += v
            run_here[i] += 0.0 if cell.reused_from else v
        summary = cell.train_summary or {}
        per_step = summary.get("s_per_step")
        status = cell.status + (f" (copied from {cell.reused_from['cell_id']})" if cell.reused_from else "")
        if summary.get("resumed_from") and per_step:
            status += f" (resumed: train counts the last {round(summary['seconds'] / per_step)} steps)"
        if summary.get("resumed_on_another_machine"):
            status += f" (checkpoint {summary['resumed_on_another_machine']})"
        rows.append([cell.cell_id, cell.arm, NA if cell.seed is None else str(cell.seed), status,
                     NA if not per_step else f"{per_step:.2f}", f"{train:.0f}", f"{ev_s:.0f}", f"{tot:.0f}",
                     machine_label(summary.get("machine") or cell.machine)])
    rows.append(["whole grid", "", "", f"{len(data.all_cells)} cells", "", *(f"{v:.0f}" for v in total), ""])
    copied = sum(1 for cell in data.all_cells if cell.reused_from)
    if copied:
        rows.append(["run in this experiment", "", "", f"{len(data.all_cells) - copied} cells "
                     f"({copied} copied, cost paid by their source)", "",
                     *(f"{v:.0f}" for v in run_here), ""])
    note = ("Wall seconds of the run that finished each cell. A cell resumed from a checkpoint does not "
            "count its earlier runs' training, so for it s/step x the step budget is the better estimate of "
            "the training cost. Machine: the CPU and its bf16 instructions (or the GPU) that trained the "
            "cell; bf16 training gives bit-identical models only on one kind of machine.")
    return Table("Cost per cell (seconds)",
                 ["cell", "arm", "seed", "status", "s/step", "train", "evaluation", "total", "machine"], rows,
                 note=note)


def prereg_table(data: ExperimentData) -> Table:
    rows = []
    for task, entry in sorted(data.prereg.get("tasks", {}).items()):
        for name, sub in entry.get("subsets", {}).items():
            share = sub.get("share")
            rows.append([task, name, str(sub.get("size", len(sub.get("query_ids", [])))),
                         str(entry.get("queries", "?")), NA if share is None else f"{share * 100:.1f} %",
                         str(sub.get("rule", ""))])
    return Table("Pre-registered subsets", ["dataset", "subset", "queries", "of", "share", "rule"], rows)


def alpha_table(data: ExperimentData) -> Table | None:
    """Arms ordered by alpha (mono = 1, cross = 0) x Multi mAP / BEIR primary metric; None below 3 alphas."""
    arms = sorted((x, a) for a in data.spec.arm_names if (x := alpha_of(data, a)) is not None)
    if len({x for x, _ in arms}) < 3:
        return None
    metric = data.spec.preregistration.primary_metric
    cols = [Column("", f"{s.task} Multi mAP", s.slug, "lareqa", "multi") if s.is_lareqa
            else Column("", f"{s.task} {metric}", s.slug, "beir", "all")
            for s in data.spec.suites if s.is_lareqa or s.task.startswith("beir/")]
    values = [[column_values(data, a, c) for c in cols] for _, a in arms]  # (arms, columns)
    means = [[mean_std(v)[0] for v in row] for row in values]
    ranks = mean_ranks(means)
    rows = [[f"{x:g}", a, *(fmt_mean_std(v) for v in row), MISSING if math.isnan(rank) else f"{rank:.1f}"]
            for (x, a), row, rank in zip(arms, values, ranks, strict=True)]
    best = best_as_shown([*zip(*means, strict=True), ranks], 2, [3] * (len(cols) + 1),
                         [False] * len(cols) + [True])
    return Table("Alpha sweep", ["alpha", "arm"] + [c.label for c in cols] + ["mean rank"], rows, best,
                 "Bold = best alpha per column (mean over seeds; no test across alphas). Mean rank: the "
                 "alpha's rank in each column as shown (1 = best, ties share the average rank), averaged "
                 "over the columns; descriptive, it weighs every column alike.")
