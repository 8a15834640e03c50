"""The names in a result file: metrics (``ir_measures`` style), their direction, and duplicates.

Metric names follow ``ir_measures`` (``AP``, ``RR``, ``R@k``, ``Success@k``, ``nDCG@k``,
``AP@k``, ``RR@k``), so a name means one thing in every result:

- LAReQA settings ``mono`` / ``cross`` / ``multi``: ``AP`` (over the full ranking; the LAReQA
  paper's "mAP" is its mean), ``RR``, ``R@1``, ``R@10``, ``Success@1``, ``Success@10``.
  With one relevant candidate (Mono, Cross) ``RR == AP`` and ``Success@k == R@k`` per query:
  :data:`DUPLICATES` names them, and ``compare`` tests only the first of each pair.
- Language bias (setting ``bias``): ``rank_distance`` and ``own_language_top10`` (lower is less
  biased), ``mono_minus_cross_AP`` (lower is less biased).
- Run-based tasks (setting ``all``): ``nDCG@10``, ``R@100``, ``AP@100``, ``RR@10`` (BEIR);
  ``nDCG@10``, ``R@100`` (MIRACL, BRIGHT).

Schema versions: 1 used ``mAP`` / ``MRR`` / ``mono_minus_cross_mAP`` and had no ``settings``;
:func:`upgrade` renames those keys so old files still load (their lengths/precision are unknown).
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 2

LAREQA_METRICS = ("AP", "RR", "R@1", "R@10", "Success@1", "Success@10")
PER_QUERY_LAREQA = ("AP", "RR", "R@1", "R@10")  # kept per query (Success@k: aggregate only)
BIAS_METRICS = ("rank_distance", "own_language_top10", "mono_minus_cross_AP")
LOWER_IS_BETTER = frozenset(BIAS_METRICS)

# (setting, metric) -> the metric it always equals per query (one relevant candidate)
DUPLICATES: dict[tuple[str, str], str] = {
    (s, dup): same
    for s in ("mono", "cross")
    for dup, same in (("RR", "AP"), ("Success@1", "R@1"), ("Success@10", "R@10"))
}

_V1_NAMES = {"mAP": "AP", "MRR": "RR", "mono_minus_cross_mAP": "mono_minus_cross_AP"}


def direction(metric: str) -> str:
    """``"higher"`` or ``"lower"``: which way is better."""
    return "lower" if metric in LOWER_IS_BETTER else "higher"


def _rename(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {_V1_NAMES.get(k, k): _rename(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rename(v) for v in obj]
    return obj


def upgrade(obj: dict[str, Any]) -> dict[str, Any]:
    """A schema-1 result dict in schema 2 names (metric keys renamed; ``settings`` empty)."""
    out = {k: _rename(v) if k in ("metrics", "per_query", "per_language", "pairs", "subsets") else v
           for k, v in obj.items()}
    out.setdefault("settings", {})
    out["schema_version"] = SCHEMA_VERSION
    out["upgraded_from"] = 1
    return out
