"""Hard-negative mining: per language, retrieve passages for each training question and keep the
best-ranked ones that are not its own paragraph.

Output: one JSON line per (item, language) ``{"item", "lang", "negatives": [texts],
"negative_ids": [passage ids], "method"}``, read by ``data.hard_negatives`` in training.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from polyret.types import Document, ParallelItem, Query, Run

log = logging.getLogger(__name__)


def _retrieve(corpus: dict[str, Document], queries: dict[str, Query], lang: str, depth: int, model) -> Run:
    if model is None:
        from polyret.retrieval.bm25 import bm25_search

        return bm25_search(corpus, queries, top_k=depth, language=lang)
    from polyret.retrieval.search import exact_search

    doc_ids, query_ids = list(corpus), list(queries)
    d = model.encode([corpus[i].text for i in doc_ids], side="passage")  # (N, D)
    q = model.encode([queries[i].text for i in query_ids], side="query")  # (Q, D)
    return exact_search(q, d, query_ids, doc_ids, top_k=depth)


def mine_hard_negatives(items: Sequence[ParallelItem], output: str | Path,
                        languages: Sequence[str] | None = None, model=None, num_negatives: int = 8,
                        depth: int = 50, skip_top: int = 0) -> dict:
    """Mine ``num_negatives`` negatives per (item, language) and write them to ``output``.

    Args:
        items: training items (their passages in each language form that language's corpus).
        output: jsonl path to write.
        languages: languages to mine (default: all the items have).
        model: a BiEncoder for dense mining, or None for BM25 (``polyret.retrieval.bm25``).
        num_negatives: negatives kept per query.
        depth: ranks retrieved per query.
        skip_top: ranks skipped after removing the positive (guards against unlabelled positives).

    Returns:
        counts: queries mined per language and how many got fewer than ``num_negatives``.
    """
    langs = sorted(languages or {x for it in items for x in it.pairs})
    stats: dict[str, dict[str, int]] = {}
    with open(output, "w", encoding="utf-8") as f:
        for lang in langs:
            pairs = [it.pairs[lang] for it in items if lang in it.pairs]
            corpus = {p.passage_id: Document(p.passage_id, p.passage) for p in pairs}
            queries = {p.item_id: Query(p.item_id, p.question) for p in pairs}
            run = _retrieve(corpus, queries, lang, depth, model)
            short = 0
            for p in pairs:
                ranked = sorted(run.get(p.item_id, {}).items(), key=lambda kv: (-kv[1], kv[0]))
                cands = [d for d, _ in ranked if d != p.passage_id and corpus[d].text != p.passage]
                picked = cands[skip_top:skip_top + num_negatives]
                short += len(picked) < num_negatives
                row = {"item": p.item_id, "lang": lang, "negatives": [corpus[d].text for d in picked],
                       "negative_ids": picked, "method": "bm25" if model is None else "dense"}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
            stats[lang] = {"queries": len(pairs), "passages": len(corpus), "short": short}
            log.info("mined %s: %s", lang, stats[lang])
    return stats
