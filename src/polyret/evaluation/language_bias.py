"""Language bias of a multilingual retriever, measured on the LAReQA Multi pool.

- **Rank distance** (after Huang et al., 2023): for each query, max rank - min rank among its
  relevant candidates (the same answer in different languages) in the Multi pool; queries with one
  relevant candidate have none. Mean per query language, then macro-mean. Lower is better: an
  unbiased retriever ranks all translations of the answer together.
- **Own-language share of the top 10**: the fraction of a query's Multi top-10 written in the
  query's language, mean per query language and macro-mean (the pool's own share of candidates is
  reported beside it as the chance level).
- **Mono - Cross gap** (``mono_minus_cross_AP``): Mono AP of language X minus the mean Cross AP
  of queries in X over all candidate languages Y != X.
"""

from __future__ import annotations

import numpy as np

from polyret.evaluation.lareqa import LareqaMetrics


def rank_distance(ranks: list[int]) -> float | None:
    """max - min of a query's relevant ranks; ``None`` with fewer than two relevant candidates."""
    return float(max(ranks) - min(ranks)) if len(ranks) >= 2 else None


def own_language_share(query_lang: str, top_langs: list[str]) -> float:
    """Share of the top list written in the query's language."""
    return float(np.mean([lang == query_lang for lang in top_langs])) if top_langs else float("nan")


def _lang_of(key: str) -> str:
    return key.split(":", 1)[0]


def language_bias(metrics: LareqaMetrics, cand_share: dict[str, float] | None = None) -> dict:
    """Bias summary: per query language and macro, plus per-query rank distances.

    Args:
        metrics: a LAReQA evaluation (its Multi ranks, top-10 languages and Mono/Cross tables).
        cand_share: optional share of each language in the pool (chance level of the top-10 share).
    """
    langs = metrics.languages
    dist: dict[str, float] = {}
    share: dict[str, float] = {}
    for key, ranks in metrics.multi_ranks.items():
        d = rank_distance(ranks)
        if d is not None:
            dist[key] = d
        share[key] = own_language_share(_lang_of(key), metrics.multi_top_langs.get(key, []))
    per_lang = {}
    for x in langs:
        d = [v for k, v in dist.items() if _lang_of(k) == x]
        s = [v for k, v in share.items() if _lang_of(k) == x]
        mono = metrics.per_language["mono"].get(x, {}).get("AP", float("nan"))
        cross = metrics.per_language["cross"].get(x, {}).get("AP", float("nan"))
        per_lang[x] = {
            "rank_distance": float(np.mean(d)) if d else float("nan"),
            "own_language_top10": float(np.mean(s)) if s else float("nan"),
            "mono_minus_cross_AP": mono - cross,
            "queries_with_distance": len(d),
        }
        if cand_share is not None:
            per_lang[x]["pool_share"] = cand_share.get(x, float("nan"))

    def macro(name: str) -> float:
        vals = [v[name] for v in per_lang.values() if not np.isnan(v[name])]
        return float(np.mean(vals)) if vals else float("nan")

    return {
        "macro": {
            name: macro(name) for name in ("rank_distance", "own_language_top10", "mono_minus_cross_AP")
        },
        "per_language": per_lang,
        "per_query": {"rank_distance": dist, "own_language_top10": share},
    }
