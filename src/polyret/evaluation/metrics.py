"""Run/qrels metrics through ``ir_measures``, pinned to its ``pytrec_eval`` provider: a thin adapter.

- **One tie convention.** Every measure is computed by one provider, ``pytrec_eval`` (trec_eval's
  own code), so every measure of a result orders a query's documents the same way: score
  descending, then document id *descending* (trec_eval's rule, which BEIR's published figures use).
  ``ir_measures``' default pipeline would serve ``RR@10`` from its ``msmarco`` provider, which breaks
  ties by document id *ascending*: with qrels ``{q: {d0: 1}}`` and run ``{d0: 0.5, d1: 0.5}`` that
  gave RR@10 = 1.0 beside R@1 = 0 and nDCG@10 = 0.63. Pinned, RR@10 = 0.5 (d1 ranks first).
- Per-query values are kept and aligned: every query of the qrels that has at least one relevant
  document gets a value; a query the run does not rank gets 0 (``ir_measures``' default), so
  per-query vectors line up across systems for paired tests. The mean is over those queries, which
  is what ``trec_eval -c`` does.
- Run edits return a *new* run and say what they removed: :func:`exclude_docs` (BRIGHT's
  ``excluded_ids``), :func:`cut_run` (``trec_eval -M k``; ties ordered as trec_eval orders them:
  score descending, then document id descending). BEIR's self-hit rule is the retrieval's own
  (:func:`polyret.retrieval.pipeline.remove_self_hits`); each task's rules: :mod:`.run_rules`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from polyret.types import Qrels, Run

BEIR_MEASURES = ("nDCG@10", "R@100", "AP@100", "RR@10")
MIRACL_MEASURES = ("nDCG@10", "R@100")
BRIGHT_MEASURES = ("nDCG@10", "R@100")
MIRACL_DEPTH = 100  # trec_eval -M 100: documents read per query


def evaluated_queries(qrels: Qrels) -> list[str]:
    """Query ids with at least one relevant (relevance > 0) judgement, sorted."""
    return sorted(q for q, docs in qrels.items() if any(r > 0 for r in docs.values()))


def _split_rr_cutoffs(parsed: list) -> tuple[list, dict[int, list[int]]]:
    """Measures pytrec_eval computes directly, and ``RR@k`` positions grouped by k.

    pytrec_eval's ``recip_rank`` has no cutoff (``ir_measures`` would silently drop the ``@k``):
    ``RR@k`` is computed as ``RR`` on the run cut at ``k`` in trec_eval's order (:func:`cut_run`).
    """
    direct, by_cut = [], {}
    for i, m in enumerate(parsed):
        cutoff = m["cutoff"] if m.NAME == "RR" else None
        if isinstance(cutoff, int):
            by_cut.setdefault(cutoff, []).append(i)
        else:
            direct.append(i)
    return direct, by_cut


def per_query(qrels: Qrels, run: Run, measures: Iterable[str] = BEIR_MEASURES) -> dict[str, dict[str, float]]:
    """``measure -> {query id -> value}`` over :func:`evaluated_queries`, unranked queries = 0."""
    import ir_measures

    names = list(measures)
    parsed = [ir_measures.parse_measure(m) for m in names]
    provider = ir_measures.pytrec_eval
    queries = evaluated_queries(qrels)
    judged = {q: qrels[q] for q in queries}
    ranked = {q: docs for q, docs in run.items() if q in judged and docs}
    out: dict[str, dict[str, float]] = {name: dict.fromkeys(queries, 0.0) for name in names}
    direct, by_cut = _split_rr_cutoffs(parsed)
    jobs = [([parsed[i] for i in direct], [names[i] for i in direct], ranked)]
    jobs += [([ir_measures.RR] * len(idx), [names[i] for i in idx], cut_run(ranked, k))
             for k, idx in by_cut.items()]
    for todo, labels, this_run in jobs:
        if not todo or not this_run:
            continue
        unsupported = [n for n, m in zip(labels, todo, strict=True) if not provider.supports(m)]
        if unsupported:
            raise ValueError(f"measures {unsupported} are not served by pytrec_eval (one tie convention)")
        by_repr: dict[str, list[str]] = {}
        for m, name in zip(todo, labels, strict=True):
            by_repr.setdefault(str(m), []).append(name)
        for metric in provider.iter_calc(list(dict.fromkeys(todo)), judged, this_run):
            for name in by_repr[str(metric.measure)]:
                out[name][metric.query_id] = float(metric.value)
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
