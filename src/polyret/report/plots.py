"""The report's plots as PNG bytes (matplotlib Agg, no pyplot state; same inputs give same bytes).

Every function returns ``{file name: png bytes}`` (empty when there is nothing to plot). Figures are
drawn :data:`WIDTH` inches wide so that they fill the report's text column; small differences are
shown as dots with their spread on an axis zoomed to the data (never bars from 0), one metric per
axis (small multiples), and an error bar only where there is a spread (two or more runs).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence

import numpy as np

from polyret.report import collect
from polyret.report.analysis import Column, alpha_of, column_values
from polyret.report.collect import ExperimentData
from polyret.report.stats import mean_std
from polyret.stats.difference import Difference

DPI = 100
WIDTH = 11.0  # inches: 1100 px, the report's column width
PANELS_PER_ROW = 4
HEATMAP_CAPTION = "mAP per (query, candidate) language pair; diagonal = Mono, off-diagonal = Cross"
HEATMAP_SCALE = (0.0, 1.0)  # mAP's whole range: a 0.05 gap stays a small step of colour

Summary = tuple[float, float, int]  # mean, sample std (NaN for one run), number of runs


def _grid(n: int) -> tuple[int, int]:
    """(rows, columns) for ``n`` panels: at most :data:`PANELS_PER_ROW` a row, rows filled evenly."""
    rows = math.ceil(n / PANELS_PER_ROW)
    return rows, math.ceil(n / rows)


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _colors(names: Sequence[str]) -> dict[str, tuple]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {n: cmap(i % 10) for i, n in enumerate(names)}


def forest(rows: Sequence[Difference], title: str, level: float = 0.05) -> dict[str, bytes]:
    """a - b with 95 % CI per dataset x subset (the pre-registered family)."""
    rows = [r for r in rows if not math.isnan(r.diff)]
    if not rows:
        return {}
    fig = _figure(WIDTH, 1.6 + 0.32 * len(rows))
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1]
    diffs = np.array([r.diff for r in rows])
    low = np.array([r.ci_low if not math.isnan(r.ci_low) else r.diff for r in rows])
    high = np.array([r.ci_high if not math.isnan(r.ci_high) else r.diff for r in rows])
    colors = ["tab:red" if r.significant(level) else "tab:blue" for r in rows]
    ax.errorbar(diffs, y, xerr=[diffs - low, high - diffs], fmt="none", ecolor="grey", capsize=3)
    ax.scatter(diffs, y, c=colors, zorder=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [f"{r.task.split('/')[-1]} / {r.subset} (n={r.n})" for r in rows])
    ax.set_xlabel(f"{rows[0].comparison}  {rows[0].metric}  (95 % CI; red: Holm p < {level:g})")
    ax.grid(axis="x", color="#ddd", lw=0.6)
    ax.set_title(title)
    return {"forest.png": _png(fig)}


def dot_panels(panels: Sequence[tuple[str, dict[str, Summary]]], xlabel: str, title: str,
               names: Sequence[str]) -> bytes:
    """Small multiples: one panel per (title, {row name: (mean, std, n)}), each with its own axis
    zoomed to its values; rows as dots, ± std bars only where n >= 2."""
    nrows, ncols = _grid(len(panels))
    fig = _figure(WIDTH, 0.9 + nrows * (0.5 + 0.28 * len(names)))
    color = _colors(names)
    for i, (panel, values) in enumerate(panels):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        shown = [(n, *values[n]) for n in names if n in values and values[n][2] > 0]
        for y, (n, mean, std, count) in enumerate(reversed(shown)):
            spread = std if count >= 2 and not math.isnan(std) else None
            ax.errorbar([mean], [y], xerr=None if spread is None else [[spread], [spread]], fmt="o",
                        color=color[n], capsize=3, ms=5)
        ax.set_yticks(range(len(shown)), [s[0] for s in reversed(shown)] if i % ncols == 0
                      else [""] * len(shown))
        ax.set_ylim(-0.6, len(shown) - 0.4)
        ax.margins(x=0.15)
        ax.grid(axis="x", color="#ddd", lw=0.6)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_title(panel, fontsize=9)
    fig.supxlabel(xlabel, fontsize=9)
    fig.suptitle(title)
    return _png(fig)


def _summaries(data: ExperimentData, names: Sequence[str], col: Column) -> dict[str, Summary]:
    return {n: mean_std(column_values(data, n, col)) for n in names}


def setting_bars(data: ExperimentData) -> dict[str, bytes]:
    """Dots per LAReQA suite (Mono / Cross / Multi mAP, one panel each) and for BEIR (one panel per
    dataset x subset)."""
    out = {}
    names = [n for n in data.rows if n != "bm25"]
    for suite in [s for s in data.spec.suites if s.is_lareqa]:
        panels = [(s.capitalize(), _summaries(data, names, Column("", s, suite.slug, "lareqa", s)))
                  for s in collect.LAREQA_SETTINGS]
        out[f"bars-{suite.slug}.png"] = dot_panels(
            panels, "mAP (each panel on its own zoomed axis)",
            f"{suite.task}: mAP per setting (mean ± std over seeds; no bar: one run)", names)
    beir = [(s, sub) for s in data.spec.suites if s.task.startswith("beir/") for sub in data.subsets(s.task)]
    if beir:
        metric = data.spec.preregistration.primary_metric
        panels = [(f"{s.task.split('/')[-1]} / {sub}",
                   _summaries(data, data.rows, Column("", "", s.slug, "beir", sub))) for s, sub in beir]
        out["bars-beir.png"] = dot_panels(
            panels, f"{metric} (each panel on its own zoomed axis)",
            f"BEIR {metric} per dataset / subset (mean ± std over seeds; no bar: one run)", data.rows)
    return out


def pair_heatmaps(data: ExperimentData) -> dict[str, bytes]:
    """mAP per (query language, candidate language), mean over seeds, one panel per row, values in the
    cells on the fixed scale :data:`HEATMAP_SCALE` (diagonal = Mono pairs, off-diagonal = Cross)."""
    out = {}
    names = [n for n in data.rows if n != "bm25"]
    vmin, vmax = HEATMAP_SCALE
    for suite in [s for s in data.spec.suites if s.is_lareqa]:
        mats = {}
        for n in names:
            runs = data.runs(n, suite.slug)
            if runs:
                langs = collect.pair_matrix(runs[0])[0]
                mats[n] = (langs, np.nanmean([collect.pair_matrix(r)[1] for r in runs], axis=0))  # (L, L)
        mats = {n: v for n, v in mats.items() if v[0]}
        if not mats:
            continue
        size = max(len(v[0]) for v in mats.values())
        ncols = min(len(mats), 2 if size > 7 else PANELS_PER_ROW)  # room for a value in every cell
        nrows = math.ceil(len(mats) / ncols)
        cell_font = 9 if size <= 6 else 7
        fig = _figure(WIDTH, nrows * (WIDTH / ncols) * 0.85 + 0.6)
        im = None
        for i, (n, (langs, m)) in enumerate(mats.items()):
            ax = fig.add_subplot(nrows, ncols, i + 1)
            im = ax.imshow(m, vmin=vmin, vmax=vmax, cmap="viridis")
            for (r, c), v in np.ndenumerate(m):
                if not math.isnan(v):
                    ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=cell_font,
                            color="white" if v < (vmin + vmax) / 2 else "black")
            ax.set_xticks(range(len(langs)), langs, fontsize=9)
            ax.set_yticks(range(len(langs)), langs, fontsize=9)
            ax.set_title(n, fontsize=11)
            ax.set_xlabel("candidate language", fontsize=9)
            ax.set_ylabel("query language", fontsize=9)
        fig.colorbar(im, ax=fig.axes, shrink=0.6, label=f"mAP (fixed scale {vmin:g} to {vmax:g})")
        fig.suptitle(f"{suite.task}: {HEATMAP_CAPTION} (mean over seeds)")
        out[f"pairs-{suite.slug}.png"] = _png(fig)
    return out


def bias_bars(data: ExperimentData) -> dict[str, bytes]:
    """Language bias (mean rank distance in the Multi pool; lower is better): one panel per suite."""
    suites = [s for s in data.spec.suites if s.is_lareqa]
    if not suites:
        return {}
    names = [n for n in data.rows if n != "bm25"]
    panels = [(s.task, _summaries(data, names, Column("", "", s.slug, "bias", "bias", True))) for s in suites]
    return {"bias.png": dot_panels(panels, "mean rank distance (lower is better)",
                                   "Language bias (mean ± std over seeds; no bar: one run)", names)}


def alpha_curve(data: ExperimentData) -> dict[str, bytes]:
    """Metric vs alpha (mono share) when >= 3 distinct alphas are present; mono = 1, cross = 0.
    One panel per metric column, each with its own y axis."""
    arms = [(alpha_of(data, a), a) for a in data.spec.arm_names]
    arms = sorted((x, a) for x, a in arms if x is not None)
    if len({x for x, _ in arms}) < 3:
        return {}
    cols = []
    for s in data.spec.suites:
        if s.is_lareqa:
            cols.append(Column("", f"{s.task} Multi mAP", s.slug, "lareqa", "multi"))
        elif s.task.startswith("beir/"):
            metric = data.spec.preregistration.primary_metric
            cols.append(Column("", f"{s.task} {metric}", s.slug, "beir", "all"))
    nrows, ncols = _grid(len(cols))
    fig = _figure(WIDTH, 0.8 + 2.6 * nrows)
    for i, col in enumerate(cols):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        pts = [(x, *mean_std(column_values(data, a, col))) for x, a in arms]
        pts = [p for p in pts if p[3] > 0]
        if pts:
            xs, ms, sd, ns = zip(*pts, strict=True)
            ax.plot(xs, ms, marker="o", color="tab:blue")
            spread = [(x, m, s) for x, m, s, n in pts if n >= 2 and not math.isnan(s)]
            if spread:
                sx, sm, ss = zip(*spread, strict=True)
                ax.errorbar(sx, sm, yerr=ss, fmt="none", ecolor="tab:blue", capsize=3)
        ax.set_title(col.label, fontsize=9)
        ax.margins(y=0.2)
        ax.grid(color="#ddd", lw=0.6)
        ax.tick_params(labelsize=8)
    fig.supxlabel("alpha (share of mono batches; cross = 0, mono = 1)", fontsize=9)
    fig.suptitle("Alpha sweep (mean ± std over seeds; each panel its own axis)")
    return {"alpha.png": _png(fig)}


def read_curve(path) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """Training loss and validation loss points ``(step, value)`` of a metrics.jsonl file."""
    train, val = [], []
    if not path.is_file():
        return train, val
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line of a killed run
        if "step" not in row:
            continue
        if row.get("loss") is not None:
            train.append((int(row["step"]), float(row["loss"])))
        if row.get("val_loss") is not None:
            val.append((int(row["step"]), float(row["val_loss"])))
    return train, val


def loss_curves(data: ExperimentData) -> dict[str, bytes]:
    """Train loss (solid) and validation loss (dashed, markers) of every trained cell."""
    curves = []
    for arm in data.spec.arm_names:
        for cell in data.cells.get(arm, []):
            curves.append((arm, *read_curve(data.layout.train_dir(cell.cell_id) / "metrics.jsonl")))
    curves = [c for c in curves if c[1] or c[2]]
    if not curves:
        return {}
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    color = {a: cmap(i % 10) for i, a in enumerate(data.spec.arm_names)}
    fig = _figure(WIDTH, 4.5)
    ax = fig.add_subplot()
    seen = set()
    for arm, train, val in curves:
        label = arm if arm not in seen else None
        seen.add(arm)
        if train:
            ax.plot(*zip(*train, strict=True), color=color[arm], lw=1, alpha=0.8, label=label)
        if val:
            ax.plot(*zip(*val, strict=True), color=color[arm], ls="--", marker="o", ms=3)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (solid: train, dashed: validation)")
    fig.legend(fontsize=8, loc="outside right upper")  # beside the axes, never over the curves
    ax.set_title("Training curves (every seed)")
    return {"loss.png": _png(fig)}


def all_plots(data: ExperimentData, primary_rows: Sequence[Difference], title: str,
              level: float = 0.05) -> dict[str, bytes]:
    """Every plot of the report, in report order."""
    out: dict[str, bytes] = {}
    out.update(forest(primary_rows, title, level))
    for make in (setting_bars, pair_heatmaps, bias_bars, alpha_curve, loss_curves):
        out.update(make(data))
    return out
