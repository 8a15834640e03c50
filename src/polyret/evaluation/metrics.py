"""Run/qrels metrics through ``ir_measures`` (pytrec_eval underneath): a thin adapter.

- Per-query values are kept and aligned: every query of the qrels that has at least one relevant
  document gets a value; a query the run does not rank gets 0 (``ir_measures``' default), so
  per-query vectors line up across systems for paired tests. The mean is over those queries, which
  is what ``trec_eval -c`` does.
- Run edits return a *new* run and say what they removed: :func:`drop_self_hits` (BEIR's rule for
  ArguAna, where a query's own argument is in the corpus), :func:`exclude_docs` (BRIGHT's
  ``excluded_ids``), :func:`cut_run` (``trec_eval -M k``; ties ordered as trec_eval orders them:
  score descending, then document id descending).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from polyret.types import Qrels, Run

BEIR_MEASURES = ("nDCG@10", "R@100", "AP@100", "RR@10")
MIRACL_MEASURES = ("nDCG@10", "R@100")
BRIGHT_MEASURES = ("nDCG@10", "R@100")


def evaluated_queries(qrels: Qrels) -> list[str]:
    """Query ids with at least one relevant (relevance > 0) judgement, sorted."""
    return sorted(q for q, docs in qrels.items() if any(r > 0 for r in docs.values()))


def per_query(qrels: Qrels, run: Run, measures: Iterable[str] = BEIR_MEASURES) -> dict[str, dict[str, float]]:
    """``measure -> {query id -> value}`` over :func:`evaluated_queries`, unranked queries = 0."""
    import ir_measures

    names = list(measures)
    parsed = [ir_measures.parse_measure(m) for m in names]
    queries = evaluated_queries(qrels)
    judged = {q: qrels[q] for q in queries}
    ranked = {q: docs for q, docs in run.items() if q in judged and docs}
    out: dict[str, dict[str, float]] = {name: dict.fromkeys(queries, 0.0) for name in names}
    by_repr = {str(m): name for m, name in zip(parsed, names, strict=True)}
    if ranked:
        for metric in ir_measures.iter_calc(parsed, judged, ranked):
            out[by_repr[str(metric.measure)]][metric.query_id] = float(metric.value)
    return out


def aggregate(
    values: Mapping[str, Mapping[str, float]], ids: Iterable[str] | None = None
) -> dict[str, float]:
    """Mean of each measure over all its queries, or over ``ids`` (a subset)."""
    out = {}
    for name, per_q in values.items():
        keys = list(per_q) if ids is None else [q for q in ids if q in per_q]
        out[name] = float(np.mean([per_q[q] for q in keys])) if keys else float("nan")
    return out


def drop_self_hits(run: Run) -> tuple[Run, dict[str, int]]:
    """A copy of ``run`` without documents whose id equals the query id; and the removals per query."""
    removed = {q: 1 for q, docs in run.items() if q in docs}
    return {q: {d: s for d, s in docs.items() if d != q} for q, docs in run.items()}, removed


def exclude_docs(run: Run, excluded: Mapping[str, Iterable[str]]) -> tuple[Run, dict[str, int]]:
    """A copy of ``run`` without each query's excluded documents; and the removals per query."""
    out: Run = {}
    removed: dict[str, int] = {}
    for q, docs in run.items():
        drop = set(excluded.get(q, ()))
        out[q] = {d: s for d, s in docs.items() if d not in drop}
        if len(out[q]) != len(docs):
            removed[q] = len(docs) - len(out[q])
    return out, removed


def cut_run(run: Run, depth: int) -> Run:
    """Keep the top ``depth`` documents per query (trec_eval order: score desc, then doc id desc)."""
    out: Run = {}
    for q, docs in run.items():
        ranked = sorted(docs.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)[:depth]
        out[q] = dict(ranked)
    return out
