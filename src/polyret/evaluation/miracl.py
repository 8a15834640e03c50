"""MIRACL scoring as ``trec_eval -c -M 100 -m ndcg_cut.10 -m recall.100`` (the official setting).

- ``-M 100``: at most 100 documents per query are read from the run; trec_eval orders a query's
  documents by score descending, then document id descending, before cutting (:func:`cut_run`).
- ``-c``: the mean is over every query of the qrels (with a relevant passage; every MIRACL dev query
  has one), and a query missing from the run scores 0. It is *not* judged-only: unjudged retrieved
  passages count as non-relevant.

``ir_measures`` (pytrec_eval, i.e. trec_eval's own code) computes nDCG@10 and R@100 on the cut run;
:func:`polyret.evaluation.metrics.per_query` fills the missing queries with 0 as ``-c`` does.
"""

from __future__ import annotations

from polyret.evaluation.metrics import MIRACL_MEASURES, aggregate, cut_run, per_query
from polyret.types import Qrels, Run

MIRACL_DEPTH = 100


def miracl_scores(qrels: Qrels, run: Run, depth: int = MIRACL_DEPTH) -> dict[str, dict[str, float]]:
    """Per-query nDCG@10 and R@100 of ``run`` cut at ``depth``, unranked queries = 0."""
    return per_query(qrels, cut_run(run, depth), MIRACL_MEASURES)


def miracl_means(qrels: Qrels, run: Run, depth: int = MIRACL_DEPTH) -> dict[str, float]:
    return aggregate(miracl_scores(qrels, run, depth))
