"""The report's plots as PNG bytes (matplotlib Agg, no pyplot state; same inputs give same bytes).

Every function returns ``{file name: png bytes}`` (empty when there is nothing to plot).
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


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def forest(rows: Sequence[Difference], title: str, level: float = 0.05) -> dict[str, bytes]:
    """a - b with 95 % CI per dataset x subset (the pre-registered family)."""
    rows = [r for r in rows if not math.isnan(r.diff)]
    if not rows:
        return {}
    fig = _figure(7, 0.8 + 0.35 * len(rows))
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
    ax.set_title(title)
    return {"forest.png": _png(fig)}


def _bars(ax, groups: list[str], series: dict[str, list[tuple[float, float]]], ylabel: str) -> None:
    width = 0.8 / max(len(series), 1)
    x = np.arange(len(groups))
    for i, (name, vals) in enumerate(series.items()):
        mean = [v[0] for v in vals]
        err = [0.0 if math.isnan(v[1]) else v[1] for v in vals]
        ax.bar(x + i * width - 0.4 + width / 2, mean, width, yerr=err, label=name, capsize=2)
    ax.set_xticks(x, groups, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)


def setting_bars(data: ExperimentData) -> dict[str, bytes]:
    """Grouped bars per LAReQA suite (Mono / Cross / Multi mAP) and for BEIR (dataset x subset)."""
    out = {}
    names = [n for n in data.rows if n != "bm25"]
    for suite in [s for s in data.spec.suites if s.is_lareqa]:
        cols = [Column("", s, suite.slug, "lareqa", s) for s in collect.LAREQA_SETTINGS]
        series = {n: [mean_std(column_values(data, n, c))[:2] for c in cols] for n in names}
        fig = _figure(6, 3.5)
        ax = fig.add_subplot()
        _bars(ax, [c.setting.capitalize() for c in cols], series, "mAP")
        ax.set_title(f"{suite.task}: mAP per setting (mean ± std over seeds)")
        out[f"bars-{suite.slug}.png"] = _png(fig)
    beir = [(s, sub) for s in data.spec.suites if s.task.startswith("beir/") for sub in data.subsets(s.task)]
    if beir:
        cols = [Column("", "", s.slug, "beir", sub) for s, sub in beir]
        series = {n: [mean_std(column_values(data, n, c))[:2] for c in cols] for n in data.rows}
        fig = _figure(max(6, 0.9 * len(cols)), 3.8)
        ax = fig.add_subplot()
        _bars(ax, [f"{s.task.split('/')[-1]}/{sub}" for s, sub in beir], series,
              data.spec.preregistration.primary_metric)
        ax.set_title("BEIR per dataset / subset (mean ± std over seeds)")
        out["bars-beir.png"] = _png(fig)
    return out


def pair_heatmaps(data: ExperimentData) -> dict[str, bytes]:
    """Cross mAP per (query language, candidate language), mean over seeds, one panel per row."""
    out = {}
    names = [n for n in data.rows if n != "bm25"]
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
        fig = _figure(3.6 * len(mats), 4.0)
        vmin = min(float(np.nanmin(m)) for _, m in mats.values())
        vmax = max(float(np.nanmax(m)) for _, m in mats.values())
        for i, (n, (langs, m)) in enumerate(mats.items()):
            ax = fig.add_subplot(1, len(mats), i + 1)
            im = ax.imshow(m, vmin=vmin, vmax=vmax, cmap="viridis")
            ax.set_xticks(range(len(langs)), langs, fontsize=6, rotation=90)
            ax.set_yticks(range(len(langs)), langs, fontsize=6)
            ax.set_title(n, fontsize=9)
            ax.set_xlabel("candidate language", fontsize=7)
            if i == 0:
                ax.set_ylabel("query language", fontsize=7)
        fig.colorbar(im, ax=fig.axes, shrink=0.8, label="mAP")
        fig.suptitle(f"{suite.task}: mAP per language pair (diagonal = Mono)")
        out[f"pairs-{suite.slug}.png"] = _png(fig)
    return out


def bias_bars(data: ExperimentData) -> dict[str, bytes]:
    """Language bias (mean rank distance in the Multi pool; lower is better) per row and suite."""
    suites = [s for s in data.spec.suites if s.is_lareqa]
    if not suites:
        return {}
    names = [n for n in data.rows if n != "bm25"]
    cols = [Column("", "", s.slug, "bias", "bias", True) for s in suites]
    series = {n: [mean_std(column_values(data, n, c))[:2] for c in cols] for n in names}
    fig = _figure(6, 3.5)
    ax = fig.add_subplot()
    _bars(ax, [s.task for s in suites], series, "mean rank distance (lower is better)")
    ax.set_title("Language bias")
    return {"bias.png": _png(fig)}


def alpha_curve(data: ExperimentData) -> dict[str, bytes]:
    """Metric vs alpha (mono share) when >= 3 distinct alphas are present; mono = 1, cross = 0."""
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
    fig = _figure(8.5, 3.8)
    ax = fig.add_subplot()
    for col in cols:
        pts = [(x, *mean_std(column_values(data, a, col))[:2]) for x, a in arms]
        pts = [p for p in pts if not math.isnan(p[1])]
        if pts:
            xs, ms, sd = zip(*pts, strict=True)
            ax.errorbar(xs, ms, yerr=[0 if math.isnan(v) else v for v in sd], marker="o", capsize=3,
                        label=col.label)
    ax.set_xlabel("alpha (share of mono batches; cross = 0, mono = 1)")
    ax.set_ylabel("score")
    fig.legend(fontsize=7, loc="outside right center")  # beside the axes: the lines fill them
    ax.set_title("Alpha sweep (mean ± std over seeds)")
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
    fig = _figure(7, 4)
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
    ax.legend(fontsize=7)
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
