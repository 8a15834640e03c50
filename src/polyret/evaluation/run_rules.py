"""Each run-based task's documented run rules and measures, in one place (the code evaluation runs).

:func:`score_run` applies the task's rules to a copy of the run and scores it per query; it is
what ``polyret evaluate`` uses for BEIR, MIRACL and BRIGHT, and what the tests exercise.

- **BEIR** (``nDCG@10, R@100, AP@100, RR@10``): a document whose id equals the query id is removed
  from that query's ranking (BEIR's ``ignore_identical_ids``; it matters for ArguAna, whose queries
  are arguments that are also in the corpus), unless ``drop_self_hits`` is off; the run is cut at
  ``top_k``.
- **MIRACL** (``nDCG@10, R@100``) as ``trec_eval -c -M 100 -m ndcg_cut.10 -m recall.100``: at most
  100 documents per query are read, in trec_eval's order (score descending, then document id
  descending); the mean is over every query of the qrels with a relevant passage, a query missing
  from the run scoring 0; unjudged retrieved passages count as non-relevant.
- **BRIGHT** (``nDCG@10, R@100``, nDCG@10 its main metric): each query's ``excluded_ids``
  (documents that trivially match, e.g. the question's own post) are removed, as BRIGHT sets their
  score to minus infinity; the run is cut at ``top_k``.

Every measure uses one tie convention (:mod:`polyret.evaluation.metrics`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from polyret.evaluation.metrics import (
    BEIR_MEASURES,
    BRIGHT_MEASURES,
    MIRACL_DEPTH,
    MIRACL_MEASURES,
    cut_run,
    exclude_docs,
    per_query,
)
from polyret.retrieval.pipeline import remove_self_hits
from polyret.types import Qrels, Run

MEASURES = {"beir": BEIR_MEASURES, "miracl": MIRACL_MEASURES, "bright": BRIGHT_MEASURES}


def extra_depth(kind: str, drop_self: bool, excluded: Mapping[str, Iterable[str]] | None = None) -> int:
    """Documents to retrieve beyond ``top_k`` so that the removals still leave ``top_k``."""
    extra = 1 if kind == "beir" and drop_self else 0
    return extra + max((len(list(v)) for v in (excluded or {}).values()), default=0)


def apply_run_rules(
    kind: str,
    run: Run,
    top_k: int,
    drop_self: bool = True,
    excluded: Mapping[str, Iterable[str]] | None = None,
) -> tuple[Run, dict[str, Any]]:
    """The task's run rules (module docstring) on a copy of ``run``; and what they removed."""
    if kind not in MEASURES:
        raise ValueError(f"not a run-based task kind: {kind!r}")
    report: dict[str, Any] = {}
    if kind == "beir" and drop_self:
        run, removed = remove_self_hits(run, top_k)  # the rule `polyret search` applies too
        report["self_hits_removed"] = removed
    if kind == "bright" and excluded:
        run, removed = exclude_docs(run, excluded)
        report["excluded_removed"] = sum(removed.values())
    depth = MIRACL_DEPTH if kind == "miracl" else top_k
    report["depth"] = depth
    return cut_run(run, depth), report


def score_run(
    kind: str,
    qrels: Qrels,
    run: Run,
    top_k: int = 100,
    drop_self: bool = True,
    excluded: Mapping[str, Iterable[str]] | None = None,
    measures: Iterable[str] | None = None,
) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    """Per-query scores (``measure -> query id -> value``) of ``run`` under the task's rules, and
    what the rules removed."""
    kept, report = apply_run_rules(kind, run, top_k, drop_self, excluded)
    return per_query(qrels, kept, MEASURES[kind] if measures is None else tuple(measures)), report
