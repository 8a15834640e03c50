"""Hard-negative mining: per language, retrieve passages for each training question and keep the
best-ranked ones that are not its own paragraph (nor a copy of its text).

Retrieval goes through the one retrieval path, :func:`polyret.retrieval.pipeline.retrieve` (BM25 or
a dense model; exact search, deterministic ties, embedding cache). Output, written atomically: one
JSON line per (item, language) ``{"item", "lang", "negatives": [texts], "negative_ids": [passage
ids], "method"}``, read by :func:`polyret.training.data.read_hard_negatives`.

Some questions get fewer than ``num_negatives`` negatives (a small language corpus, or BM25 finding
no other passage with a query term), a few none at all: their rows are still written (possibly
with an empty list) and counted per language as ``short`` / ``empty``; the training collator fills
the gap with its documented fallback (passages of other paragraphs).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from polyret.atomic import atomic_write
from polyret.retrieval.pipeline import BM25, retrieve
from polyret.types import Document, ParallelItem, Query

log = logging.getLogger(__name__)


def mine_hard_negatives(items: Sequence[ParallelItem], output: str | Path,
                        languages: Sequence[str] | None = None, model=None, num_negatives: int = 8,
                        depth: int = 50, skip_top: int = 0, *, batch_size: int = 64,
                        precision: str | None = None, cache=False) -> dict:
    """Mine ``num_negatives`` negatives per (item, language) and write them to ``output``.

    Args:
        items: training items (their passages in each language form that language's corpus).
        output: jsonl path to write (atomically).
        languages: languages to mine (default: all the items have).
        model: a BiEncoder for dense mining, or None for BM25 (``polyret.retrieval.bm25``).
        num_negatives: negatives kept per query.
        depth: ranks retrieved per query.
        skip_top: ranks skipped after removing the positive (guards against unlabelled positives).
        batch_size, precision, cache: dense encoding options (see ``retrieve``).

    Returns:
        counts per language: ``queries``, ``passages``, ``short`` (fewer than ``num_negatives``)
        and ``empty`` (none).
    """
    if num_negatives < 1 or depth < 1 or skip_top < 0:
        raise ValueError("num_negatives and depth must be >= 1 and skip_top >= 0")
    langs = sorted(languages or {x for it in items for x in it.pairs})
    stats: dict[str, dict[str, int]] = {}
    with atomic_write(output, "w") as f:
        for lang in langs:
            pairs = [it.pairs[lang] for it in items if lang in it.pairs]
            if not pairs:
                stats[lang] = {"queries": 0, "passages": 0, "short": 0, "empty": 0}
                continue
            corpus = {p.passage_id: Document(p.passage_id, p.passage) for p in pairs}
            queries = {p.item_id: Query(p.item_id, p.question) for p in pairs}
            run, _ = retrieve(BM25 if model is None else model, corpus, queries, min(depth, len(corpus)),
                              language=lang, batch_size=batch_size, precision=precision, cache=cache)
            short = empty = 0
            for p in pairs:
                ranked = sorted(run.get(p.item_id, {}).items(), key=lambda kv: (-kv[1], kv[0]))
                cands = [d for d, _ in ranked if d != p.passage_id and corpus[d].text != p.passage]
                picked = cands[skip_top:skip_top + num_negatives]
                short += len(picked) < num_negatives
                empty += not picked
                row = {"item": p.item_id, "lang": lang, "negatives": [corpus[d].text for d in picked],
                       "negative_ids": picked, "method": "bm25" if model is None else "dense"}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
            stats[lang] = {"queries": len(pairs), "passages": len(corpus), "short": short, "empty": empty}
            log.info("mined %s: %s", lang, stats[lang])
    return stats
