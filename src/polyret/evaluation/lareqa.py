"""The LAReQA protocol (XQuAD-R, MLQA-R): Mono, Cross and Multi settings over pooled candidates.

For a question id, the relevant candidates are its gold sentence in every language where the id
exists (XQuAD-R: all 11; MLQA-R: 2-4).

- **Mono**: queries of X against the candidates of X; relevant = the gold in X.
- **Cross**: every ordered pair X != Y, queries of X against the candidates of Y only; relevant =
  the gold in Y (queries whose id does not exist in Y are left out of that pair).
- **Multi**: one pool of all languages' candidates; relevant = the golds in all languages.

Metrics per query (``ir_measures`` names; see :mod:`polyret.evaluation.ranking` for ties): AP
(average precision over the full ranking; its mean is LAReQA's mAP), RR, R@k (share of the
relevant candidates in the top k) and Success@k (any relevant
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
import torch

from polyret.evaluation.ranking import (
    DEFAULT_KS,
    MAX_BLOCK,
    PoolMetrics,
    block_metrics,
    pad_relevant,
    stack_blocks,
)
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


def _language_onehot(index: LareqaIndex) -> tuple[torch.Tensor, torch.Tensor]:
    """(C,) language position of each candidate and its (C, L) one-hot (float32)."""
    pos = {y: j for j, y in enumerate(index.languages)}
    lang = torch.as_tensor([pos[c.lang] for c in index.candidates], dtype=torch.int64)  # (C,)
    return lang, torch.nn.functional.one_hot(lang, len(index.languages)).to(torch.float32)


def _gold_columns(index: LareqaIndex) -> np.ndarray:
    """(Q, L) candidate row of each query's gold in each language; -1 where the id is absent."""
    pos = {y: j for j, y in enumerate(index.languages)}
    cols = np.full((len(index.queries), len(index.languages)), -1, dtype=np.int64)
    for i, q in enumerate(index.queries):
        for y, row in index.gold[q.question_id].items():
            cols[i, pos[y]] = row
    return cols


def _pair_ranks(scores: torch.Tensor, gold: torch.Tensor, cand_lang: torch.Tensor,
                onehot: torch.Tensor) -> torch.Tensor:
    """(B, C) scores, (B, L) gold columns -> (B, L) pessimistic rank of the gold among the
    candidates of each language (0 where the id is absent). One pass: every candidate is compared
    with the gold score of its own language, and a (C, L) one-hot product sums per language
    (exact: counts stay far below 2^24)."""
    has = gold >= 0  # (B, L)
    g = scores.gather(1, gold.clamp(min=0))  # (B, L) the gold's score in each language
    reach = (scores >= g.index_select(1, cand_lang)).to(torch.float32)  # (B, C)
    counts = (reach @ onehot).round().to(torch.int64)  # (B, L)
    return torch.where(has, counts, 0)


def _rank_columns(ranks: np.ndarray, ks: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Metrics of a one-relevant pool from the gold's rank r: AP = RR = 1/r, R@k = Success@k = [r <= k]."""
    r = np.where(ranks > 0, ranks, np.inf)
    inv = 1.0 / r
    cols = {"AP": inv, "RR": inv}
    cols.update({f"R@{k}": (r <= k).astype(np.float64) for k in ks})
    cols.update({f"Success@{k}": (r <= k).astype(np.float64) for k in ks})
    return cols


def _mono_cross(ranks: np.ndarray, index: LareqaIndex, ks: tuple[int, ...]) -> dict:
    """Mono/Cross tables from the (Q, L) pair ranks: per pair means, sizes, per query values."""
    langs = index.languages
    present = ranks > 0  # (Q, L)
    own = np.array([langs.index(q.lang) for q in index.queries], dtype=np.int64)  # (Q,)
    onehot = (own[:, None] == np.arange(len(langs))[None, :]).astype(np.float64)  # (Q, L)
    sizes = onehot.T @ present  # (L, L): query lang x candidate lang
    cols = _rank_columns(ranks, ks)
    keys = [query_key(q) for q in index.queries]
    rows = np.arange(len(keys))
    cross = present.copy()
    cross[rows, own] = False  # (Q, L) the other languages where the id exists
    n_cross = cross.sum(1)
    pairs, mono_pq, cross_pq = {}, {}, {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for name, col in cols.items():
            vals = np.where(present, col, 0.0)  # (Q, L)
            means = (onehot.T @ vals) / sizes  # (L, L), NaN where no query
            pairs[name] = {x: {y: float(means[i, j]) for j, y in enumerate(langs)}
                           for i, x in enumerate(langs)}
            mono_pq[name] = {keys[i]: float(vals[i, own[i]]) for i in rows if present[i, own[i]]}
            per_q = np.where(cross, col, 0.0).sum(1) / n_cross
            cross_pq[name] = {keys[i]: float(per_q[i]) for i in rows if n_cross[i]}
    pair_sizes = {x: {y: int(sizes[i, j]) for j, y in enumerate(langs)} for i, x in enumerate(langs)}
    return {"pairs": pairs, "sizes": pair_sizes, "mono": mono_pq, "cross": cross_pq}


def _lang_tables(pairs: dict, sizes: dict, langs: list[str]) -> tuple[dict, dict, dict]:
    """Per language Mono and Cross means, and the Cross macro over ordered pairs that hold a query."""
    names = list(pairs)
    mono = {x: {m: pairs[m][x][x] for m in names} for x in langs}
    cross = {}
    for x in langs:
        ys = [y for y in langs if y != x and sizes[x][y]]
        if ys:
            cross[x] = {m: float(np.mean([pairs[m][x][y] for y in ys])) for m in names}
    cells = [(x, y) for x in langs for y in langs if x != y and sizes[x][y]]
    macro = {m: float(np.mean([pairs[m][x][y] for x, y in cells])) if cells else float("nan") for m in names}
    return mono, cross, macro


def lareqa_metrics(
    query_emb: np.ndarray,
    cand_emb: np.ndarray,
    index: LareqaIndex,
    ks: Sequence[int] = DEFAULT_KS,
    chunk_size: int = 512,
) -> LareqaMetrics:
    """Mono, Cross and Multi metrics from embeddings whose rows follow ``index``.

    Each chunk of queries is scored once against the whole pool (B, C); the Multi metrics come
    from that block and every Mono/Cross pool is a column range of it (a query's score for a
    candidate does not depend on the pool), so the pool is scored once, not once per setting.

    Args:
        query_emb: (Q, D) embeddings of ``index.queries``.
        cand_emb: (C, D) embeddings of ``index.candidates`` (scores are dot products).
    """
    if len(query_emb) != len(index.queries) or len(cand_emb) != len(index.candidates):
        raise ValueError(
            f"embeddings ({len(query_emb)}, {len(cand_emb)}) do not match the index "
            f"({len(index.queries)} queries, {len(index.candidates)} candidates)"
        )
    ks, langs = tuple(ks), index.languages
    keys = [query_key(q) for q in index.queries]
    q_t, c_t = torch.as_tensor(query_emb), torch.as_tensor(cand_emb)
    cand_lang, onehot = _language_onehot(index)
    gold_t = torch.as_tensor(_gold_columns(index))  # (Q, L)
    rel_t = torch.as_tensor(pad_relevant([sorted(index.gold[q.question_id].values()) for q in index.queries]))
    top = min(TOP_LIST, len(index.candidates))
    step = max(1, min(chunk_size, MAX_BLOCK // max(len(index.candidates), 1)))
    ranks, parts = [], []
    for start in range(0, len(keys), step):
        scores = q_t[start : start + step] @ c_t.T  # (B, C) the whole pool
        ranks.append(_pair_ranks(scores, gold_t[start : start + step], cand_lang, onehot))
        parts.append(block_metrics(scores, rel_t[start : start + step], ks, top))
    pair_ranks = torch.cat(ranks).numpy() if ranks else np.zeros((0, len(langs)), dtype=np.int64)
    multi = stack_blocks(parts, ks, rel_t.shape[1], top)
    mc = _mono_cross(pair_ranks, index, ks)
    mono_lang, cross_lang, cross_macro = _lang_tables(mc["pairs"], mc["sizes"], langs)
    multi_lang = {x: _mean_cols(multi, index.query_rows(x)) for x in langs if len(index.query_rows(x))}
    per_query = {"mono": mc["mono"], "cross": mc["cross"], "multi": {}}
    for name, col in multi.as_columns().items():
        per_query["multi"][name] = {k: float(v) for k, v in zip(keys, col, strict=True)}
    sorted_ranks = np.sort(multi.ranks, axis=1)  # (Q, R), padding (0) first
    multi_ranks = {k: row[row > 0].tolist() for k, row in zip(keys, sorted_ranks, strict=True)}
    top_langs = index.cand_langs[multi.topk] if multi.topk is not None else np.zeros((len(keys), 0), str)
    multi_top = {k: [str(v) for v in row] for k, row in zip(keys, top_langs, strict=True)}
    return LareqaMetrics(
        languages=list(langs),
        settings={"mono": _macro(mono_lang), "cross": cross_macro, "multi": _macro(multi_lang)},
        per_language={"mono": mono_lang, "cross": cross_lang, "multi": multi_lang},
        pairs=mc["pairs"],
        per_query=per_query,
        multi_ranks=multi_ranks,
        multi_top_langs=multi_top,
        pair_sizes=mc["sizes"],
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
