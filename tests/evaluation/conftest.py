"""Helpers for the evaluation tests: tiny LAReQA pools with known structure."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from polyret.evaluation.lareqa import LareqaIndex
from polyret.types import Candidate, LareqaQuestion


def make_pool(langs_of: dict[str, list[str]], extra: dict[str, int] | None = None):
    """Questions/candidates: question id -> the languages it exists in; ``extra`` non-gold per language."""
    langs = sorted({lang for ls in langs_of.values() for lang in ls})
    cands, questions = [], []
    for lang in langs:
        k = 0
        for qid, ls in langs_of.items():
            if lang in ls:
                cands.append(Candidate(f"{lang}:0:{k}", lang, f"{qid} in {lang}", "ctx", f"{lang}:0"))
                questions.append(LareqaQuestion(qid, lang, f"question {qid} {lang}", f"{lang}:0:{k}"))
                k += 1
        for _ in range((extra or {}).get(lang, 0)):
            cands.append(Candidate(f"{lang}:1:{k}", lang, f"filler {k}", "ctx", f"{lang}:1"))
            k += 1
    return LareqaIndex(langs, questions, cands)


def biased_embeddings(index: LareqaIndex, lam: float):
    """e_qid + lam * e_lang for questions and their gold candidates (fillers: lang only)."""
    qids = sorted(index.gold)
    dims = {name: i for i, name in enumerate(qids + index.languages)}

    def vec(qid: str | None, lang: str) -> np.ndarray:
        v = np.zeros(len(dims))
        if qid is not None:
            v[dims[qid]] = 1.0
        v[dims[lang]] = lam
        return v

    owner = {row: qid for qid, by_lang in index.gold.items() for row in by_lang.values()}
    q = np.stack([vec(x.question_id, x.lang) for x in index.queries])
    c = np.stack([vec(owner.get(i), cand.lang) for i, cand in enumerate(index.candidates)])
    return q, c


@pytest.fixture
def pools() -> SimpleNamespace:
    """``pools.make(langs_of, extra)`` builds a LareqaIndex; ``pools.biased(index, lam)`` its embeddings."""
    return SimpleNamespace(make=make_pool, biased=biased_embeddings)
