"""The report's numbers: paired comparison rows and per-seed column values of an experiment."""

from __future__ import annotations

from dataclasses import dataclass

from polyret.report import collect
from polyret.report.collect import ExperimentData
from polyret.report.stats import DiffRow, correct, paired_difference, subset_mean


@dataclass(frozen=True)
class Column:
    """One column of the main table: a value per result dict."""

    key: str  # stable id, e.g. "xquad-r:multi" or "beir-scifact:long"
    label: str
    slug: str
    kind: str  # "lareqa" | "bias" | "beir"
    setting: str  # LAReQA setting, or BEIR subset name
    lower_is_better: bool = False


def main_columns(data: ExperimentData) -> list[Column]:
    """XQuAD-R / MLQA-R Mono, Cross, Multi mAP and bias; BEIR nDCG@10 on all and each subset."""
    metric = data.spec.preregistration.primary_metric
    cols: list[Column] = []
    for suite in data.spec.suites:
        name = suite.task.upper() if suite.is_lareqa else suite.task.split("/", 1)[1]
        if suite.is_lareqa:
            cols += [Column(f"{suite.slug}:{s}", f"{name} {s.capitalize()} mAP", suite.slug, "lareqa", s)
                     for s in collect.LAREQA_SETTINGS]
            cols.append(Column(f"{suite.slug}:bias", f"{name} bias (rank dist.)", suite.slug, "bias", "bias",
                               lower_is_better=True))
        elif suite.task.startswith("beir/"):
            cols += [Column(f"{suite.slug}:{sub}", f"{name} {metric} ({sub})", suite.slug, "beir", sub)
                     for sub in data.subsets(suite.task)]
    return cols


def column_values(data: ExperimentData, name: str, col: Column) -> list[float | None]:
    """One value per seed (per run) of row ``name`` in ``col``; [] when not evaluated."""
    suite = next(s for s in data.spec.suites if s.slug == col.slug)
    if name == "bm25" and suite.is_lareqa:
        return []
    runs = data.runs(name, col.slug)
    if col.kind == "lareqa":
        return [collect.lareqa_metric(r, col.setting) for r in runs]
    if col.kind == "bias":
        return [collect.lareqa_bias(r) for r in runs]
    metric = data.spec.preregistration.primary_metric
    if col.setting == "all":
        return [collect.beir_metric(r, metric) for r in runs]
    ids = data.subsets(suite.task)[col.setting]
    return [subset_mean(collect.beir_per_query(r, metric), ids) for r in runs]


def comparison_rows(data: ExperimentData, seed: int = 0) -> list[DiffRow]:
    """Every comparison x BEIR dataset x subset x (primary + secondary metric), Holm-corrected."""
    pre = data.spec.preregistration
    metrics = [pre.primary_metric, *[m for m in pre.secondary_metrics if m != pre.primary_metric]]
    rows: list[DiffRow] = []
    for comp in pre.comparisons:
        for task in data.spec.beir_tasks:
            slug = task.replace("/", "-")
            seeds_a, seeds_b = data.seed_runs(comp.a, slug), data.seed_runs(comp.b, slug)
            res_a, res_b = [r for _, r in seeds_a], [r for _, r in seeds_b]
            pairs = seed_pairs([s for s, _ in seeds_a], [s for s, _ in seeds_b])
            for metric in metrics:
                runs_a = [collect.beir_per_query(r, metric) for r in res_a]
                runs_b = [collect.beir_per_query(r, metric) for r in res_b]
                for subset, ids in data.subsets(task).items():
                    label = (comp.label, task, subset, metric)
                    if not runs_a or not runs_b:
                        rows.append(DiffRow(*label, n=0, note="results missing"))
                        continue
                    rows.append(paired_difference(runs_a, runs_b, ids, permutations=pre.permutations,
                                                  bootstrap=pre.bootstrap, seed=seed, label=label,
                                                  seed_pairs=pairs))
    primary = pre.primary_comparison
    correct(rows, (primary.label, pre.primary_metric) if primary else None, pre.correction)
    return rows


def seed_pairs(seeds_a: list[int | None], seeds_b: list[int | None]) -> list[tuple[int, int]] | None:
    """Run index pairs with the same seed when both sides are trained; None (by index) otherwise."""
    if None in seeds_a or None in seeds_b:
        return None
    return [(i, seeds_b.index(s)) for i, s in enumerate(seeds_a) if s in seeds_b]


def alpha_of(data: ExperimentData, arm_name: str) -> float | None:
    """An arm's mono share: hybrid alpha; mono = 1, cross = 0; None otherwise."""
    arm = data.spec.arm(arm_name)
    if arm.strategy == "mono":
        return 1.0
    if arm.strategy == "cross":
        return 0.0
    return arm.alpha
