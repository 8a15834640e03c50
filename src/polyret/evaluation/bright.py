"""BRIGHT scoring: nDCG@10 (its main metric) and R@100 after its exclusion rule.

BRIGHT's evaluation sets the score of each query's ``excluded_ids`` (documents that trivially match,
e.g. the question's own post, or LeetCode problems that share the solution) to minus infinity; here
they are removed from a copy of the run, and the number removed is returned. Its reasoning-intensive
queries form the ``reasoning`` subset (:mod:`polyret.evaluation.subsets`) when documents are supplied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from polyret.evaluation.metrics import BRIGHT_MEASURES, exclude_docs, per_query
from polyret.types import Qrels, Run


def bright_scores(
    qrels: Qrels, run: Run, excluded: Mapping[str, Iterable[str]]
) -> tuple[dict[str, dict[str, float]], int]:
    """Per-query BRIGHT metrics of ``run`` without the excluded documents; and how many were removed."""
    kept, removed = exclude_docs(run, excluded)
    return per_query(qrels, kept, BRIGHT_MEASURES), sum(removed.values())
