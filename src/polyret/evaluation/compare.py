"""Compare result documents of one task: comparability checks, then paired tests, Holm per family.

**Comparable first** (:func:`check_comparable`): results are compared only when they measured the
same thing: same task, same data files (sha256 fingerprints: a user folder that shares a catalog
task's name is not the catalog task), same split, pool languages and candidate text (LAReQA), same
evaluated queries (subsampling), same self-hit rule and depth (BEIR), and, for dense models, the
same query/passage lengths and precision. Any difference is refused with a one-line
:class:`polyret.errors.UserError` naming it, unless ``force`` (the CLI prints a warning).

**Rows.** The first result is the baseline (reference); each row is ``system - baseline`` (one
argument order everywhere: treatment - reference), a :class:`polyret.stats.difference.Difference`.
For every other system, every setting and metric kept
per query, and (BEIR/BRIGHT) every complex-query subset for the subset metrics (``--metric``
applies to subset rows too), the scores of the queries both results hold are compared with a
paired t-test (the seed-aware model with one run per side) and, as a secondary view, the exact or
Monte Carlo sign-flip p and a bootstrap CI. A subset holding every query (a whole-dataset group)
repeats the ``all`` row and is left out. Metrics that equal another per query
(:data:`polyret.evaluation.schema.DUPLICATES`: in Mono and Cross, RR = AP and Success@k = R@k) are
not tested twice.

**Families.** Holm's correction runs within a family, stated on every row with the direction of
"better": ``effectiveness`` (higher is better: AP, RR, R@k, nDCG@10 ... in every setting and
subset) and ``bias`` (lower is better: rank distance, own-language share, Mono - Cross gap).

``bm25-failure`` is selected by BM25's own zero scores, so BM25 scores 0 on it by construction: a
comparison with BM25 on either side leaves that subset out (of the rows and of the Holm family).
Non-finite per-query scores are refused (:func:`check_finite`).
"""

from __future__ import annotations

import math
from typing import Any

from polyret.errors import UserError
from polyret.evaluation.results import EvalResult
from polyret.evaluation.schema import DUPLICATES, direction
from polyret.stats.difference import Difference, compare_arms, correct

SUBSET_METRICS = ("nDCG@10",)
FAMILIES = {"higher": "effectiveness", "lower": "bias"}
BM25_SUBSET = "bm25-failure"


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


def check_finite(result: EvalResult, source: str) -> None:
    """A null / NaN / inf per-query score is an error naming the file, setting, metric and query."""
    for setting, cols in result.per_query.items():
        for metric, values in cols.items():
            for q, v in (values or {}).items():
                if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                    raise UserError(f"{source}: per_query.{setting}.{metric}: query {q!r} = {v!r} is not a "
                                    "finite number")


def _common(a_vals: dict, b_vals: dict, ids=None) -> list[str]:
    return sorted(set(a_vals) & set(b_vals) & (set(a_vals) if ids is None else {str(q) for q in ids}))


def _is_bm25(result: EvalResult) -> bool:
    return result.model.get("kind") == "bm25"


def _pending(base: EvalResult, other: EvalResult, label: str, metrics, subset_metrics) -> list[tuple]:
    """(label, setting, metric, treatment scores, reference scores, query ids) of one system."""
    out = []
    for setting, cols in base.per_query.items():
        for metric, a_vals in cols.items():
            if (metrics and metric not in metrics) or (setting, metric) in DUPLICATES:
                continue
            b_vals = other.scores(setting, metric)
            if ids := _common(a_vals, b_vals):
                out.append((label, setting, metric, b_vals, a_vals, ids))
    wanted = [m for m in (metrics or subset_metrics) if m in base.per_query.get("all", {})]
    n_all = len(base.query_ids())
    bm25 = _is_bm25(base) or _is_bm25(other)
    for sub_name, sub in base.subsets.items():
        ids = sub.get("queries")
        if not ids or len(ids) >= n_all:  # empty, or the whole dataset (a group): already a row
            continue
        if bm25 and sub_name == BM25_SUBSET:  # selected by BM25's own failures: not a fair test
            continue
        for metric in wanted:
            a_vals, b_vals = base.scores("all", metric), other.scores("all", metric)
            if common := _common(a_vals, b_vals, ids):
                out.append((label, f"subset:{sub_name}", metric, b_vals, a_vals, common))
    return out


def compare_results(
    results: list[EvalResult],
    bootstrap: int = 10_000,
    seed: int = 0,
    metrics: list[str] | None = None,
    subset_metrics: tuple[str, ...] = SUBSET_METRICS,
    force: bool = False,
    margin: float | None = None,
) -> list[Difference]:
    """Rows of (system - baseline) differences (:class:`polyret.stats.difference.Difference`, one run
    per side: paired t over queries, plus the query-level sign-flip view); Holm within each family."""
    if len(results) < 2:
        raise UserError("compare needs at least two results (the first is the baseline)")
    problems = check_comparable(results)
    if problems and not force:
        raise UserError(f"results are not comparable: {'; '.join(problems)} (use --force to compare anyway)")
    known = sorted({m for r in results for cols in r.per_query.values() for m in cols})
    for metric in metrics or []:
        if metric not in known:
            raise UserError(unknown_name("metric", metric, known))
    labels = _labels(results)
    base_name = labels[0]
    rows = []
    for label, other in zip(labels[1:], results[1:], strict=True):
        for name, setting, metric, treat, ref, ids in _pending(results[0], other, label, metrics,
                                                               subset_metrics):
            label_row = (f"{name} - {base_name}", results[0].task, setting, metric)
            row = compare_arms([([treat], [ref], ids)], label_row, margin=margin, bootstrap=bootstrap,
                               seed=seed)
            row.direction = direction(metric)
            row.family = FAMILIES[row.direction]
            rows.append(row)
    correct(rows, key=lambda r: r.family)
    return rows


def unknown_name(kind: str, name: str, valid: list[str]) -> str:
    """``unknown metric 'ndcg@10' (did you mean 'nDCG@10'?); valid: ...`` (difflib, case-insensitive)."""
    import difflib

    lowered = {v.lower(): v for v in valid}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.5)
    hint = f" (did you mean {lowered[close[0]]!r}?)" if close else ""
    return f"unknown {kind} {name!r}{hint}; valid: {', '.join(valid)}"


def family_summary(rows: list[Difference]) -> list[str]:
    """One line per Holm family: its size, direction and what it holds."""
    lines = []
    for fam in dict.fromkeys(r.family for r in rows):
        members = [r for r in rows if r.family == fam]
        metrics = sorted({r.metric for r in members})
        better = "higher" if members[0].direction == "higher" else "lower"
        lines.append(f"Holm family '{fam}': {len(members)} comparisons ({better} is better; "
                     f"{', '.join(metrics)})")
    dups = sorted({f"{m} in {s} (= {same})" for (s, m), same in DUPLICATES.items()})
    if any(r.subset in ("mono", "cross") for r in rows):
        lines.append("not tested (equal per query to a tested metric): " + ", ".join(dups))
    return lines
