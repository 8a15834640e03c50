"""Pre-registered complex-query subsets: named selectors that return query ids and a reason for each.

The rules are fixed here, before any trained model is scored (definitions after ReFeed, arXiv
2603.01417, CRUMB, arXiv 2509.07253, and BIRCO, arXiv 2402.14151); docs/subsets.md lists them with
hits and misses from the real queries. Two families:

**Per-dataset query subsets** (each meant to hold 5-60 % of a dataset's evaluated queries; a share
outside that range is reported in the subset's ``outside_range`` field, never hidden):

- ``bm25-failure``: the reference BM25 (:data:`BM25_REFERENCE`: bm25s Lucene variant, k1 0.9,
  b 0.4, English stemming and stopwords, BEIR's self-hit rule) has nDCG@10 = 0 although the query has
  relevant documents (ReFeed). Needs the documents: not applicable to BRIGHT without ``--corpus``.
- ``long``: query length in words (``\\w+`` tokens) at or above the dataset's 75th percentile
  (numpy ``method="higher"``, so the cut is an observed length; every query tied at the cut is kept,
  which is why a dataset of many equal lengths can exceed 25 %: nfcorpus 31 %).
- ``multi-part``: :func:`count_parts` at or above ``max(2, Q3)``, Q3 the dataset's 75th percentile of
  part counts (``method="higher"``, ties kept). The floor 2 means a one-part query is never
  selected; the quartile cut is needed because query forms differ by two orders of magnitude
  (nfcorpus topics of 2 words, ArguAna arguments of 177), so one absolute count would select
  everything of one dataset and nothing of another (the old rule took 100 % of ArguAna).

**Whole-dataset groups** (``kind: "dataset-group"``, *not* part of the per-dataset family): every
evaluated query of a dataset in a group of :data:`DATASET_GROUPS` (``group:<name>``), or of a BRIGHT
set (``reasoning``). They compare datasets, so they are pooled across datasets, never within one.

Parts (:func:`count_parts`): abbreviation-aware sentences and headline segments (``A: B``,
``A -- B``; "Dr. Dean Ornish", "St. John's wort", "e.g.", "U.S.", "J. Smith", "3.5" do not end a
sentence) + clause connectives (but, although, whereas, unless, except, however, whether, because,
despite, instead of, rather than, if, while) + clauses joined by and/or (followed within four words
by a verb or wh-word) or both/either/neither pairs + explicit two-sided comparisons (versus, vs.,
compared to/with, difference between). A bare comparative (than, better, worse, superior, inferior)
and a negation add one part each *only* when the count is already 2 or more.
Examples from the real queries (test qrels; more in docs/subsets.md):

- multi-part hits: nfcorpus PLAIN-3412 "Plant vs. Cow Calcium" (segment + comparison = 2),
  PLAIN-165 "Breast Cancer & Alcohol: How Much is Safe?" (two segments), scifact 300 (two claims),
  scifact 1363 "Venules have a thinner ... compared to arterioles.".
- multi-part misses: nfcorpus PLAIN-1050 "Dr. Dean Ornish" and PLAIN-2145 "St. John's wort" (one
  sentence each), PLAIN-430 "Are krill oil supplements better than fish oil capsules?" (a bare
  comparative), PLAIN-2890 "To Snack or Not to Snack?" (a negation), scifact 75 "Active H. pylori
  urease ..." (one sentence); bright/biology 98 (2 parts, under that set's cut of 12).
- long: nfcorpus cut 5 words (PLAIN-12 "Exploiting Autophagy to Live Longer" in, "deafness" out),
  scifact 16, arguana 232. bm25-failure: nfcorpus PLAIN-1066 "Dr. Walter Willett" (9 relevant, none
  in BM25's top 10) in, PLAIN-1018 "DHA" out.

Measured shares: every per-dataset subset holds 5-60 % on nfcorpus, scifact, arguana and the 12
BRIGHT sets (multi-part: nfcorpus 5.6 %, scifact 6.0 %, arguana 27.0 %, BRIGHT 25.0-35.1 %).
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
SHARE_RANGE = (0.05, 0.60)  # a per-dataset subset outside this share of its dataset is flagged
QUARTILE = 0.75  # cut of ``long`` and ``multi-part`` (numpy method "higher": ties at the cut kept)
MULTI_PART_FLOOR = 2  # a query needs at least this many parts to be multi-part
BM25_REFERENCE = {"k1": 0.9, "b": 0.4, "method": "lucene", "language": "en", "top_k": 100}
GROUP, SUBSET = "dataset-group", "query-subset"

ABBREVIATIONS = frozenset(
    "dr mr mrs ms prof st sr jr vs etc e.g i.e eg ie al cf fig figs no nos vol approx ca inc ltd co "
    "corp mt gen col sen rep gov jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k e.u u.n "
    "ph.d a.m p.m resp eq eqs ref refs sec ch ex viz".split()
)
_WORD = re.compile(r"\w+", re.UNICODE)
_BREAK = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)|\n|\s{2,}(?=[A-Z])")  # candidate sentence ends
_HEADLINE = re.compile(r":\s+|\s*--\s*|\s[—–]\s")  # "A: B", "A -- B", "A — B"
_CONNECTIVE = re.compile(
    r"\b(but|although|though|whereas|unless|except|however|whether|because|despite|instead of|"
    r"rather than|if|while)\b",
    re.I,
)
_COORDINATION = re.compile(
    r"\b(and|or|as well as)\s+(?:\w+\s+){0,3}?(is|are|was|were|do|does|did|can|could|should|will|would|"
    r"has|have|had|how|what|why|which|who|whom|whose|where|when)\b",
    re.I,
)
_PAIRED_CONJ = re.compile(r"\b(both\b.+?\band|either\b.+?\bor|neither\b.+?\bnor)\b", re.I)
_COMPARISON = re.compile(
    r"\b(versus|vs\b\.?|compared (?:to|with)|in comparison (?:to|with)|differ(?:s|ence|ences)? between)",
    re.I,
)
_COMPARATIVE = re.compile(r"\b(than|better|worse|superior|inferior)\b", re.I)
_NEGATION = re.compile(r"\b(not|no|never|none|nor|without|cannot)\b|n't\b", re.I)

RULES: dict[str, str] = {
    "bm25-failure": "BM25 (bm25s Lucene, k1 0.9, b 0.4, English stemmer and stopwords, top 100, "
    "self-hits removed on BEIR) has nDCG@10 = 0 although the query has relevant documents",
    "long": "query length in \\w+ words >= the dataset's 75th percentile (numpy 'higher'; ties kept)",
    "multi-part": "count_parts(query) >= max(2, the dataset's 75th percentile of part counts) "
    "(numpy 'higher'; ties kept)",
    "reasoning": "whole-dataset group: every evaluated query of a BRIGHT set",
}


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def _is_abbreviation(before: str) -> bool:
    """True if the word ending at a period is an abbreviation, an initial or a dotted acronym."""
    words = before.split()
    word = words[-1].lower().lstrip("(\"'") if words else ""
    return word in ABBREVIATIONS or bool(re.fullmatch(r"[a-z]|(?:[a-z]\.)+[a-z]", word))


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: ends at ``.!?`` before a space, a line break, 2+ spaces before a capital.

    A period does not end a sentence after an abbreviation (:data:`ABBREVIATIONS`), a single letter
    ("J. Smith", "E. coli"), a dotted acronym ("U.S."), or before a lower-case word.
    """
    out, start = [], 0
    for m in _BREAK.finditer(text):
        if m.group(0).startswith("."):
            following = text[m.end() :].lstrip()[:1]
            if _is_abbreviation(text[start : m.start()]) or (following and following.islower()):
                continue
        piece = text[start : m.end()].strip()
        if piece:
            out.append(piece)
        start = m.end()
    rest = text[start:].strip()
    return out + [rest] if rest else out


def segments(text: str) -> list[str]:
    """Sentences further split at headline separators (``A: B``, ``A -- B``); each holds a word."""
    return [p for s in split_sentences(text) for p in _HEADLINE.split(s) if _WORD.search(p)]


@dataclass(frozen=True)
class Parts:
    """The part counts of one query (:func:`count_parts`)."""

    segments: int
    connectives: int
    coordinations: int
    comparisons: int
    comparative: bool
    negation: bool

    @property
    def total(self) -> int:
        base = self.segments + self.connectives + self.coordinations + self.comparisons
        return base + (int(self.comparative) + int(self.negation) if base >= MULTI_PART_FLOOR else 0)

    def describe(self) -> str:
        names = ("segments", "connectives", "coordinations", "comparisons")
        fired = [f"{getattr(self, n)} {n}" for n in names if getattr(self, n)]
        fired += [n for n in ("comparative", "negation") if getattr(self, n)]
        return f"{self.total} parts ({', '.join(fired) or 'none'})"


def count_parts(text: str) -> Parts:
    """Count the parts of a query (module docstring): segments, connectives, clauses, comparisons."""
    return Parts(
        segments=len(segments(text)),
        connectives=len(_CONNECTIVE.findall(text)),
        coordinations=len(_COORDINATION.findall(text)) + len(_PAIRED_CONJ.findall(text)),
        comparisons=len(_COMPARISON.findall(text)),
        comparative=bool(_COMPARATIVE.search(text)),
        negation=bool(_NEGATION.search(text)),
    )


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
    skip_reasons: dict[str, str] = field(default_factory=dict)  # subset -> why it cannot run here


Selector = Callable[[SubsetContext], dict[str, str] | None]


@dataclass(frozen=True)
class Subset:
    name: str
    description: str
    select: Selector
    kind: str = SUBSET  # SUBSET (per-dataset family) or GROUP (whole datasets)
    rule: str = ""


def evaluated_ids(ctx: SubsetContext) -> list[str]:
    """Queries of ``ctx`` with at least one relevant document, sorted."""
    return sorted(q for q in ctx.queries if any(r > 0 for r in ctx.qrels.get(q, {}).values()))


def quartile_cut(values: list[int], floor: int = 0) -> int:
    """``max(floor, 75th percentile)`` with numpy's ``higher`` method (an observed value)."""
    return max(floor, int(np.quantile(values, QUARTILE, method="higher")))


def _group_selector(group: str, datasets: tuple[str, ...]) -> Selector:
    def select(ctx: SubsetContext) -> dict[str, str]:
        base = ctx.dataset.rsplit("/", 1)[-1].lower()
        if base not in datasets:
            return {}
        return {q: f"{base} is in group {group}" for q in evaluated_ids(ctx)}

    return select


def select_bm25_failure(ctx: SubsetContext) -> dict[str, str] | None:
    if ctx.reference_ndcg10 is None:
        return None
    return {
        q: f"{ctx.reference_name} nDCG@10 = 0 with {sum(r > 0 for r in ctx.qrels[q].values())} relevant"
        for q in evaluated_ids(ctx)
        if ctx.reference_ndcg10.get(q, 0.0) == 0.0
    }


def select_long(ctx: SubsetContext) -> dict[str, str]:
    lengths = {q: word_count(ctx.queries[q].text) for q in evaluated_ids(ctx)}
    if not lengths:
        return {}
    cut = quartile_cut(list(lengths.values()))
    return {q: f"{n} words >= 75th percentile {cut}" for q, n in lengths.items() if n >= cut}


def select_multi_part(ctx: SubsetContext) -> dict[str, str]:
    parts = {q: count_parts(ctx.queries[q].text) for q in evaluated_ids(ctx)}
    if not parts:
        return {}
    cut = quartile_cut([p.total for p in parts.values()], MULTI_PART_FLOOR)
    return {q: f"{p.describe()} >= cut {cut}" for q, p in parts.items() if p.total >= cut}


def select_reasoning(ctx: SubsetContext) -> dict[str, str]:
    if not ctx.is_bright:
        return {}
    return {q: f"BRIGHT {ctx.dataset}: reasoning-intensive set" for q in evaluated_ids(ctx)}


SUBSETS: dict[str, Subset] = {
    **{
        f"group:{g}": Subset(
            f"group:{g}",
            f"whole-dataset group {g}: {', '.join(ds)}",
            _group_selector(g, ds),
            GROUP,
            f"whole-dataset group: every evaluated query of {', '.join(ds)}",
        )
        for g, ds in DATASET_GROUPS.items()
    },
    "bm25-failure": Subset(
        "bm25-failure", "BM25 nDCG@10 = 0 although relevant documents exist", select_bm25_failure,
        rule=RULES["bm25-failure"],
    ),
    "long": Subset("long", "query length (words) in the dataset's top quartile", select_long,
                   rule=RULES["long"]),
    "multi-part": Subset(
        "multi-part", "several parts (clauses, questions, comparisons) in the dataset's top quartile",
        select_multi_part, rule=RULES["multi-part"],
    ),
    "reasoning": Subset("reasoning", "whole-dataset group: BRIGHT reasoning-intensive set",
                        select_reasoning, GROUP, RULES["reasoning"]),
}
QUERY_SUBSETS = tuple(n for n, s in SUBSETS.items() if s.kind == SUBSET)


def _entry(sub: Subset, chosen: dict[str, str], n: int) -> dict:
    share = len(chosen) / n if n else 0.0
    entry = {"kind": sub.kind, "description": sub.description, "rule": sub.rule,
             "size": len(chosen), "share": share, "queries": dict(sorted(chosen.items()))}
    lo, hi = SHARE_RANGE
    if sub.kind == SUBSET and not lo <= share <= hi:
        entry["outside_range"] = f"{share:.1%} of {n} queries, outside {lo:.0%}-{hi:.0%}"
    return entry


def select_subsets(ctx: SubsetContext, names: list[str] | None = None) -> dict[str, dict]:
    """Run selectors: ``name -> {kind, description, rule, size, share, queries: {id: reason}}``.

    Groups that do not apply to the dataset are left out; a query subset that lacks its input (no
    BM25 run) is reported as ``{"skipped": why}``; one whose share of the evaluated queries is
    outside :data:`SHARE_RANGE` carries ``outside_range``.
    """
    n = len(evaluated_ids(ctx))
    out: dict[str, dict] = {}
    for name in names or list(SUBSETS):
        if name not in SUBSETS:
            raise ValueError(f"unknown subset {name!r}; expected one of {', '.join(SUBSETS)}")
        sub = SUBSETS[name]
        chosen = None if name in ctx.skip_reasons else sub.select(ctx)
        if chosen is None:
            why = ctx.skip_reasons.get(name, "no reference (BM25) run supplied")
            out[name] = {"kind": sub.kind, "description": sub.description, "skipped": why}
        elif chosen or sub.kind == SUBSET:
            out[name] = _entry(sub, chosen, n)
    return out
