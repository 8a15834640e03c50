"""Pre-registered complex-query subsets: named selectors that return query ids and a reason for each.

The rules are fixed here, before looking at any system's results (RESEARCH.md §2):

- ``group:<name>``: every evaluated query of a dataset in the group (:data:`DATASET_GROUPS`).
- ``bm25-failure``: the reference retriever (BM25) has nDCG@10 = 0 although the query has relevant
  documents (as in ReFeed).
- ``long``: query length in words (``\\w+`` tokens) at or above the dataset's 75th percentile
  (numpy's ``higher`` method, so ties at the cut are all kept).
- ``multi-part``: at least one of the rules of :func:`multi_part_reasons` fires (CRUMB: "multiple
  parts, constraints or requirements").
- ``reasoning``: BRIGHT's reasoning-intensive sets (every query of a BRIGHT task).

A selector needs a :class:`SubsetContext`; those whose input is missing (no BM25 scores) are
skipped, and the reason is reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from polyret.types import Qrels, Queries

DATASET_GROUPS: dict[str, tuple[str, ...]] = {
    "argument-retrieval": ("arguana", "webis-touche2020", "touche2020"),
    "fact-verification": ("scifact", "fever", "climate-fever"),
    "multi-hop": ("hotpotqa",),
    "opinion-qa": ("fiqa",),
    "bio-medical": ("nfcorpus", "trec-covid", "bioasq"),
}

_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?;](?=\s+\S)")
_CONNECTIVE = re.compile(
    r"\b(but|although|though|whereas|unless|except|however|whether|because|despite|instead of|rather than)\b",
    re.I,
)
_COORDINATION = re.compile(
    r"\b(and|or|as well as)\s+(?:\w+\s+){0,3}?(is|are|was|were|do|does|did|can|could|should|will|would|"
    r"has|have|had|how|what|why|which|who|whom|whose|where|when)\b",
    re.I,
)
_PAIRED_CONJ = re.compile(r"\b(both\b.+\band|either\b.+\bor|neither\b.+\bnor)\b", re.I)
_COMPARATIVE = re.compile(
    r"\b(than|compared (?:to|with)|in comparison|versus|vs|differ(?:s|ence|ences)? between|better|worse|"
    r"superior|inferior)\b",
    re.I,
)
_NEGATION = re.compile(r"\b(not|no|never|none|nor|without|cannot)\b|n't\b", re.I)

MULTI_PART_RULES: dict[str, str] = {
    "questions": "two or more question marks",
    "sentences": "two or more sentences or clauses ending in . ! ? ;",
    "connective": "a clause connective (but, although, whereas, unless, except, whether, because, ...)",
    "coordination": "'and'/'or' joining clauses (followed within 4 words by a verb or wh-word), "
    "or both...and / either...or / neither...nor",
    "comparative": "a comparative (than, compared to/with, versus, vs, difference between, better, ...)",
    "negation": "a negation (not, no, never, none, nor, without, cannot, n't)",
}


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def multi_part_reasons(text: str) -> list[str]:
    """Names of the :data:`MULTI_PART_RULES` that fire on ``text`` (empty: not multi-part)."""
    fired = []
    if text.count("?") >= 2:
        fired.append("questions")
    if _SENTENCE_END.search(text.strip()):
        fired.append("sentences")
    if _CONNECTIVE.search(text):
        fired.append("connective")
    if _COORDINATION.search(text) or _PAIRED_CONJ.search(text):
        fired.append("coordination")
    if _COMPARATIVE.search(text):
        fired.append("comparative")
    if _NEGATION.search(text):
        fired.append("negation")
    return fired


@dataclass
class SubsetContext:
    """What selectors may look at: the dataset's name, evaluated queries and qrels."""

    dataset: str  # "scifact", "arguana", "bright/biology", a folder name for user data
    queries: Queries
    qrels: Qrels
    reference_ndcg10: dict[str, float] | None = None  # BM25 per-query nDCG@10
    reference_name: str = "bm25"
    is_bright: bool = False
    notes: dict[str, str] = field(default_factory=dict)


Selector = Callable[[SubsetContext], dict[str, str] | None]


@dataclass(frozen=True)
class Subset:
    name: str
    description: str
    select: Selector


def _evaluated(ctx: SubsetContext) -> list[str]:
    return sorted(q for q in ctx.queries if any(r > 0 for r in ctx.qrels.get(q, {}).values()))


def _group_selector(group: str, datasets: tuple[str, ...]) -> Selector:
    def select(ctx: SubsetContext) -> dict[str, str]:
        base = ctx.dataset.rsplit("/", 1)[-1].lower()
        if base not in datasets:
            return {}
        return {q: f"{base} is in group {group}" for q in _evaluated(ctx)}

    return select


def select_bm25_failure(ctx: SubsetContext) -> dict[str, str] | None:
    if ctx.reference_ndcg10 is None:
        return None
    return {
        q: f"{ctx.reference_name} nDCG@10 = 0 with {sum(r > 0 for r in ctx.qrels[q].values())} relevant"
        for q in _evaluated(ctx)
        if ctx.reference_ndcg10.get(q, 0.0) == 0.0
    }


def select_long(ctx: SubsetContext) -> dict[str, str]:
    ids = _evaluated(ctx)
    if not ids:
        return {}
    lengths = {q: word_count(ctx.queries[q].text) for q in ids}
    cut = float(np.quantile(list(lengths.values()), 0.75, method="higher"))
    return {q: f"{n} words >= 75th percentile {cut:g}" for q, n in lengths.items() if n >= cut}


def select_multi_part(ctx: SubsetContext) -> dict[str, str]:
    out = {}
    for q in _evaluated(ctx):
        fired = multi_part_reasons(ctx.queries[q].text)
        if fired:
            out[q] = "multi-part: " + ", ".join(fired)
    return out


def select_reasoning(ctx: SubsetContext) -> dict[str, str]:
    if not ctx.is_bright:
        return {}
    return {q: f"BRIGHT {ctx.dataset}: reasoning-intensive set" for q in _evaluated(ctx)}


SUBSETS: dict[str, Subset] = {
    **{
        f"group:{g}": Subset(f"group:{g}", f"dataset group {g}: {', '.join(ds)}", _group_selector(g, ds))
        for g, ds in DATASET_GROUPS.items()
    },
    "bm25-failure": Subset(
        "bm25-failure", "BM25 nDCG@10 = 0 although relevant documents exist", select_bm25_failure
    ),
    "long": Subset("long", "query length (words) in the dataset's top quartile", select_long),
    "multi-part": Subset(
        "multi-part", "rule-based multi-part / constraint query (see MULTI_PART_RULES)", select_multi_part
    ),
    "reasoning": Subset("reasoning", "BRIGHT reasoning-intensive set", select_reasoning),
}


def select_subsets(ctx: SubsetContext, names: list[str] | None = None) -> dict[str, dict]:
    """Run selectors: ``name -> {description, size, queries: {id: reason}}``, or ``skipped: why``.

    Selectors that do not apply to the dataset (a group it is not in, ``reasoning`` outside BRIGHT)
    are left out; a selector that lacks its input is reported as skipped.
    """
    out: dict[str, dict] = {}
    for name in names or list(SUBSETS):
        if name not in SUBSETS:
            raise ValueError(f"unknown subset {name!r}; expected one of {', '.join(SUBSETS)}")
        sub = SUBSETS[name]
        chosen = sub.select(ctx)
        if chosen is None:
            out[name] = {"description": sub.description, "skipped": "no reference (BM25) run supplied"}
            continue
        if not chosen and (name.startswith("group:") or name == "reasoning"):
            continue
        out[name] = {
            "description": sub.description,
            "size": len(chosen),
            "queries": dict(sorted(chosen.items())),
        }
    return out
