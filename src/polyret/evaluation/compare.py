"""Compare result documents of one task: comparability checks, then paired tests, Holm per family.

**Comparable first** (:func:`check_comparable`): results are compared only when they measured the
same thing: same task, same data files (sha256 fingerprints: a user folder that shares a catalog
task's name is not the catalog task), same split, pool languages and candidate text (LAReQA), same
evaluated queries (subsampling), same self-hit rule and depth (BEIR), and, for dense models, the
same query/passage lengths and precision. Any difference is refused with a one-line
:class:`polyret.errors.UserError` naming it, unless ``force`` (the CLI prints a warning).

**Rows.** The first result is the baseline. For every other system, every setting and metric kept
per query, and (BEIR/BRIGHT) every complex-query subset for the subset metrics (``--metric``
applies to subset rows too), the scores of the queries both results hold are compared with a
paired test. A subset holding every query (a whole-dataset group) repeats the ``all`` row and is
left out. Metrics that equal another per query (:data:`polyret.evaluation.schema.DUPLICATES`: in
Mono and Cross, RR = AP and Success@k = R@k) are not tested twice.

**Families.** Holm's correction runs within a family, stated on every row with the direction of
"better": ``effectiveness`` (higher is better: AP, RR, R@k, nDCG@10 ... in every setting and
subset) and ``bias`` (lower is better: rank distance, own-language share, Mono - Cross gap).

Caveat: ``bm25-failure`` is selected by BM25's own zero scores, so BM25 scores 0 on it by
construction; a system compared with BM25 there gains from that selection. Compare two non-BM25
systems on it (both against the same, independent reference).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from polyret.errors import UserError
from polyret.evaluation.results import EvalResult
from polyret.evaluation.schema import DUPLICATES, direction
from polyret.evaluation.significance import compare_paired, holm

SUBSET_METRICS = ("nDCG@10",)
FAMILIES = {"higher": "effectiveness", "lower": "bias"}


@dataclass
class ComparisonRow:
    system: str
    setting: str  # "mono" / "multi" / "all" / "subset:long" ...
    metric: str
    n: int
    mean_a: float
    mean_b: float
    delta: float
    cohens_d: float
    p_value: float
    p_holm: float  # Holm-adjusted within ``family``
    ci_low: float
    ci_high: float
    family: str = "effectiveness"
    direction: str = "higher"  # which way is better for this metric


def _facts(r: EvalResult) -> dict[str, Any]:
    """What must be equal for two results to be compared (``None``: not applicable)."""
    cfg, settings = r.config, r.settings
    dense = r.model.get("kind") != "bm25"
    lareqa = "languages" in r.data
    precision = settings.get("precision", {}).get("used") if settings else None
    return {
        "task": r.task,
        "data files (sha256)": r.fingerprints() or None,
        "split": None if lareqa else cfg.get("split"),
        "pool languages": r.data.get("languages"),
        "candidate text": cfg.get("candidate_text") if lareqa else None,
        "evaluated queries": r.query_ids(),
        "self-hit rule (drop_self_hits)": cfg.get("drop_self_hits") if r.task.startswith("beir/") else None,
        "top_k": None if lareqa else cfg.get("top_k"),
        "max_query_length": settings.get("max_query_length", "unknown") if dense else None,
        "max_passage_length": settings.get("max_passage_length", "unknown") if dense else None,
        "precision": (precision or "unknown") if dense else None,
    }


def _show(key: str, value: Any, r: EvalResult) -> str:
    if key == "evaluated queries":
        cfg = r.config
        how = f"max_queries={cfg.get('max_queries')}, seed={cfg.get('seed')}"
        how = how if cfg.get("max_queries") else "all"
        return f"{len(value)} ({how})"
    if key == "data files (sha256)":
        return ",".join(v[:8] for v in value)
    return str(value)


def check_comparable(results: list[EvalResult]) -> list[str]:
    """Every difference that makes ``results[1:]`` not comparable with ``results[0]`` (empty: fine)."""
    base = results[0]
    base_facts = _facts(base)
    problems = []
    for i, other in enumerate(results[1:], start=1):
        facts = _facts(other)
        for key, value in facts.items():
            ref = base_facts[key]
            if value is None or ref is None or value == ref:
                continue
            problems.append(
                f"{key}: {_show(key, ref, base)} in #0 ({base.model_name}) vs "
                f"{_show(key, value, other)} in #{i} ({other.model_name})"
            )
    return problems


def _labels(results: list[EvalResult]) -> list[str]:
    names = [r.model_name for r in results]
    return [n if names.count(n) == 1 else f"{n}#{i}" for i, n in enumerate(names)]


def _pair(a_vals: dict, b_vals: dict, ids=None) -> tuple[np.ndarray, np.ndarray] | None:
    keys = sorted(set(a_vals) & set(b_vals) & (set(a_vals) if ids is None else set(ids)))
    if not keys:
        return None
    return np.array([a_vals[q] for q in keys], float), np.array([b_vals[q] for q in keys], float)


def _pending(base: EvalResult, other: EvalResult, label: str, metrics, subset_metrics) -> list[tuple]:
    """(label, setting, metric, a, b) for every row of one system against the baseline."""
    out = []
    for setting, cols in base.per_query.items():
        for metric, a_vals in cols.items():
            if (metrics and metric not in metrics) or (setting, metric) in DUPLICATES:
                continue
            pair = _pair(a_vals, other.scores(setting, metric))
            if pair:
                out.append((label, setting, metric, *pair))
    wanted = [m for m in (metrics or subset_metrics) if m in base.per_query.get("all", {})]
    n_all = len(base.query_ids())
    for sub_name, sub in base.subsets.items():
        ids = sub.get("queries")
        if not ids or len(ids) >= n_all:  # empty, or the whole dataset (a group): already a row
            continue
        for metric in wanted:
            pair = _pair(base.scores("all", metric), other.scores("all", metric), ids)
            if pair:
                out.append((label, f"subset:{sub_name}", metric, *pair))
    return out


def compare_results(
    results: list[EvalResult],
    test: str = "randomization",
    n_resamples: int = 10_000,
    seed: int = 0,
    metrics: list[str] | None = None,
    subset_metrics: tuple[str, ...] = SUBSET_METRICS,
    force: bool = False,
) -> list[ComparisonRow]:
    """Rows of (system vs baseline) comparisons; p-values Holm-adjusted within each family."""
    if len(results) < 2:
        raise UserError("compare needs at least two results (the first is the baseline)")
    problems = check_comparable(results)
    if problems and not force:
        raise UserError(f"results are not comparable: {'; '.join(problems)} (use --force to compare anyway)")
    labels = _labels(results)
    pending = [
        row
        for label, other in zip(labels[1:], results[1:], strict=True)
        for row in _pending(results[0], other, label, metrics, subset_metrics)
    ]
    stats = [compare_paired(a, b, test=test, n_resamples=n_resamples, seed=seed) for *_, a, b in pending]
    families = [FAMILIES[direction(metric)] for _, _, metric, _, _ in pending]
    adjusted = [float("nan")] * len(stats)
    for fam in dict.fromkeys(families):
        idx = [i for i, f in enumerate(families) if f == fam]
        for i, p in zip(idx, holm([stats[i].p_value for i in idx]), strict=True):
            adjusted[i] = float(p)
    return [
        ComparisonRow(
            label, setting, metric, s.n, s.mean_a, s.mean_b, s.delta, s.cohens_d, s.p_value, p,
            s.ci_low, s.ci_high, family=fam, direction=direction(metric),
        )
        for (label, setting, metric, _, _), s, p, fam in zip(pending, stats, adjusted, families, strict=True)
    ]


def family_summary(rows: list[ComparisonRow]) -> list[str]:
    """One line per Holm family: its size, direction and what it holds."""
    lines = []
    for fam in dict.fromkeys(r.family for r in rows):
        members = [r for r in rows if r.family == fam]
        metrics = sorted({r.metric for r in members})
        better = "higher" if members[0].direction == "higher" else "lower"
        lines.append(f"Holm family '{fam}': {len(members)} comparisons ({better} is better; "
                     f"{', '.join(metrics)})")
    dups = sorted({f"{m} in {s} (= {same})" for (s, m), same in DUPLICATES.items()})
    if any(r.setting in ("mono", "cross") for r in rows):
        lines.append("not tested (equal per query to a tested metric): " + ", ".join(dups))
    return lines
