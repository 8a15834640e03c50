"""The LAReQA protocol (XQuAD-R, MLQA-R): Mono, Cross and Multi settings over pooled candidates.

For a question id, the relevant candidates are its gold sentence in every language where the id
exists (XQuAD-R: all 11; MLQA-R: 2-4).

- **Mono**: queries of X against the candidates of X; relevant = the gold in X.
- **Cross**: every ordered pair X != Y, queries of X against the candidates of Y only; relevant =
  the gold in Y (queries whose id does not exist in Y are left out of that pair).
- **Multi**: one pool of all languages' candidates; relevant = the golds in all languages.

Metrics per query (see :mod:`polyret.evaluation.ranking` for ties): mAP (average precision over the
full ranking), MRR, R@k (share of the relevant candidates in the top k) and Success@k (any relevant
in the top k; equal to R@k when there is one relevant, i.e. Mono and Cross). Aggregates: mean over
a language's queries, then macro-mean over query languages (Mono, Multi) or over the ordered
language pairs (Cross; the full pair matrix is kept, diagonal = Mono).

Candidate text (``candidate_text``): ``"sentence"`` (the default) or ``"sentence+context"``. LAReQA
(Roy et al., 2020) feeds its answer encoder the sentence together with the paragraph it comes from
(a sentence/context pair, as in ReQA's USE-QA); for one-text encoders polyret joins them as
``sentence + " " + context``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from polyret.evaluation.ranking import DEFAULT_KS, PoolMetrics, pad_relevant, pool_metrics
from polyret.types import Candidate, LareqaQuestion

CANDIDATE_TEXTS = ("sentence", "sentence+context")
SETTINGS = ("mono", "cross", "multi")
TOP_LIST = 10  # top-k kept in Multi for the own-language share


def candidate_text(cand: Candidate, mode: str = "sentence", sep: str = " ") -> str:
    """The text the passage encoder sees for one candidate."""
    if mode == "sentence":
        return cand.sentence
    if mode == "sentence+context":
        return cand.sentence + sep + cand.context
    raise ValueError(f"unknown candidate text {mode!r}; expected one of {CANDIDATE_TEXTS}")


def query_key(q: LareqaQuestion) -> str:
    """Per-query id used in results: ``<lang>:<question id>``."""
    return f"{q.lang}:{q.question_id}"


@dataclass
class LareqaIndex:
    """The pool structure: queries and candidates in embedding-row order, and the golds."""

    languages: list[str]
    queries: list[LareqaQuestion]
    candidates: list[Candidate]
    query_langs: np.ndarray = field(init=False)  # (Q,) str
    cand_langs: np.ndarray = field(init=False)  # (C,) str
    gold: dict[str, dict[str, int]] = field(init=False)  # question id -> lang -> candidate row

    def __post_init__(self) -> None:
        self.query_langs = np.array([q.lang for q in self.queries])
        self.cand_langs = np.array([c.lang for c in self.candidates])
        row = {c.cand_id: i for i, c in enumerate(self.candidates)}
        if len(row) != len(self.candidates):
            raise ValueError("candidate ids are not unique in the pool")
        self.gold = {}
        for q in self.queries:
            if q.gold_cand_id not in row:
                raise ValueError(
                    f"question {query_key(q)}: gold candidate {q.gold_cand_id!r} not in the pool"
                )
            self.gold.setdefault(q.question_id, {})[q.lang] = row[q.gold_cand_id]

    @classmethod
    def from_data(cls, data, questions: dict[str, list[LareqaQuestion]] | None = None) -> LareqaIndex:
        """From a ``LareqaData`` (optionally with a subsample of its questions; the pool stays whole)."""
        questions = data.questions if questions is None else questions
        langs = list(data.languages)
        return cls(langs, [q for lang in langs for q in questions.get(lang, [])], list(data.candidates))

    def query_rows(self, lang: str) -> np.ndarray:
        return np.flatnonzero(self.query_langs == lang)

    def cand_rows(self, lang: str) -> np.ndarray:
        return np.flatnonzero(self.cand_langs == lang)


@dataclass
class LareqaMetrics:
    """Everything one LAReQA evaluation measured (plain data; see ``to_dict``)."""

    languages: list[str]
    settings: dict[str, dict[str, float]]  # setting -> metric -> macro mean
    per_language: dict[str, dict[str, dict[str, float]]]  # setting -> query lang -> metric -> mean
    pairs: dict[str, dict[str, dict[str, float]]]  # metric -> query lang -> candidate lang -> mean
    per_query: dict[str, dict[str, dict[str, float]]]  # setting -> metric -> query key -> value
    multi_ranks: dict[str, list[int]]  # query key -> ranks of its relevant candidates (Multi)
    multi_top_langs: dict[str, list[str]]  # query key -> languages of its Multi top-10
    pair_sizes: dict[str, dict[str, int]]  # query lang -> candidate lang -> queries evaluated


def _mean_cols(metrics: PoolMetrics, rows: np.ndarray | slice = slice(None)) -> dict[str, float]:
    return {
        name: float(col[rows].mean()) if col[rows].size else float("nan")
        for name, col in metrics.as_columns().items()
    }


def _macro(per_lang: dict[str, dict[str, float]]) -> dict[str, float]:
    names = next(iter(per_lang.values())).keys() if per_lang else []
    return {m: float(np.mean([v[m] for v in per_lang.values()])) for m in names}


def lareqa_metrics(
    query_emb: np.ndarray,
    cand_emb: np.ndarray,
    index: LareqaIndex,
    ks: Sequence[int] = DEFAULT_KS,
    chunk_size: int = 512,
) -> LareqaMetrics:
    """Mono, Cross and Multi metrics from embeddings whose rows follow ``index``.

    Args:
        query_emb: (Q, D) embeddings of ``index.queries``.
        cand_emb: (C, D) embeddings of ``index.candidates`` (scores are dot products).
    """
    if len(query_emb) != len(index.queries) or len(cand_emb) != len(index.candidates):
        raise ValueError(
            f"embeddings ({len(query_emb)}, {len(cand_emb)}) do not match the index "
            f"({len(index.queries)} queries, {len(index.candidates)} candidates)"
        )
    ks = tuple(ks)
    keys = [query_key(q) for q in index.queries]
    langs = index.languages
    pairs: dict[str, dict[str, dict[str, float]]] = {}
    pair_sizes: dict[str, dict[str, int]] = {}
    per_query: dict[str, dict[str, dict[str, float]]] = {s: {} for s in SETTINGS}
    mono_lang, cross_lang = {}, {}
    cross_sum: dict[str, dict[str, list[float]]] = {}  # metric -> query key -> values over Y
    for x in langs:
        qrows = index.query_rows(x)
        pair_sizes[x] = {}
        cross_means = []
        for y in langs:
            crows = index.cand_rows(y)
            local = {int(r): i for i, r in enumerate(crows)}
            keep = [r for r in qrows if y in index.gold[index.queries[r].question_id]]
            rel = pad_relevant([[local[index.gold[index.queries[r].question_id][y]]] for r in keep])
            m = pool_metrics(query_emb[keep], cand_emb[crows], rel, ks=ks, chunk_size=chunk_size)
            pair_sizes[x][y] = len(keep)
            means = _mean_cols(m)
            for name, value in means.items():
                pairs.setdefault(name, {}).setdefault(x, {})[y] = value
            cols = m.as_columns()
            if x == y:
                mono_lang[x] = means
                for name, col in cols.items():
                    per_query["mono"].setdefault(name, {}).update(
                        {keys[r]: float(v) for r, v in zip(keep, col, strict=True)}
                    )
            elif keep:
                cross_means.append(means)
                for name, col in cols.items():
                    bucket = cross_sum.setdefault(name, {})
                    for r, v in zip(keep, col, strict=True):
                        bucket.setdefault(keys[r], []).append(float(v))
        if cross_means:
            cross_lang[x] = {m: float(np.mean([c[m] for c in cross_means])) for m in cross_means[0]}
    per_query["cross"] = {name: {k: float(np.mean(v)) for k, v in d.items()} for name, d in cross_sum.items()}
    cross_cells = [(x, y) for x in langs for y in langs if x != y and pair_sizes[x][y]]
    cross_macro = {
        name: float(np.mean([pairs[name][x][y] for x, y in cross_cells])) if cross_cells else float("nan")
        for name in pairs
    }

    # Multi: one pool, every gold relevant
    rel = pad_relevant([sorted(index.gold[q.question_id].values()) for q in index.queries])
    multi = pool_metrics(query_emb, cand_emb, rel, ks=ks, top=TOP_LIST, chunk_size=chunk_size)
    multi_lang = {x: _mean_cols(multi, index.query_rows(x)) for x in langs if len(index.query_rows(x))}
    for name, col in multi.as_columns().items():
        per_query["multi"][name] = {k: float(v) for k, v in zip(keys, col, strict=True)}
    multi_ranks = {k: sorted(int(r) for r in row if r > 0) for k, row in zip(keys, multi.ranks, strict=True)}
    top_langs = index.cand_langs[multi.topk] if multi.topk is not None else np.zeros((len(keys), 0), str)
    multi_top = {k: [str(v) for v in row] for k, row in zip(keys, top_langs, strict=True)}
    return LareqaMetrics(
        languages=list(langs),
        settings={"mono": _macro(mono_lang), "cross": cross_macro, "multi": _macro(multi_lang)},
        per_language={"mono": mono_lang, "cross": cross_lang, "multi": multi_lang},
        pairs=pairs,
        per_query=per_query,
        multi_ranks=multi_ranks,
        multi_top_langs=multi_top,
        pair_sizes=pair_sizes,
    )


def subsample_questions(
    questions: dict[str, list[LareqaQuestion]], max_ids: int, seed: int = 0
) -> dict[str, list[LareqaQuestion]]:
    """Keep ``max_ids`` question ids (the same ids in every language), drawn with ``seed``."""
    ids = sorted({q.question_id for qs in questions.values() for q in qs})
    if max_ids >= len(ids):
        return questions
    rng = np.random.default_rng(seed)
    keep = {ids[i] for i in rng.choice(len(ids), size=max_ids, replace=False)}
    return {lang: [q for q in qs if q.question_id in keep] for lang, qs in questions.items()}
