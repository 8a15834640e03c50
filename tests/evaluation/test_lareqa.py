"""LAReQA Mono / Cross / Multi metrics: hand-worked pools, a brute-force sklearn reference, real data."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from polyret.evaluation.lareqa import (
    LareqaIndex,
    candidate_text,
    lareqa_metrics,
    query_key,
    subsample_questions,
)
from polyret.types import Candidate, LareqaQuestion


def test_hand_worked_settings_small_language_bias(pools):
    index = pools.make({"q1": ["de", "en"], "q2": ["de", "en"]})
    q, c = pools.biased(index, lam=0.5)  # the question id dominates
    m = lareqa_metrics(q, c, index)
    assert m.settings["mono"]["AP"] == 1.0 and m.settings["cross"]["AP"] == 1.0
    assert m.settings["multi"]["AP"] == 1.0
    assert m.multi_ranks["en:q1"] == [1, 2]
    # Multi top list of en:q1: en-q1 (1.25), de-q1 (1.0), en-q2 (0.25), de-q2 (0)
    assert m.multi_top_langs["en:q1"] == ["en", "de", "en", "de"]


def test_hand_worked_settings_large_language_bias(pools):
    index = pools.make({"q1": ["de", "en"], "q2": ["de", "en"]})
    q, c = pools.biased(index, lam=2.0)  # the language dominates
    m = lareqa_metrics(q, c, index)
    # Mono and Cross pools hold one language: the bias cannot hurt them
    assert m.settings["mono"]["AP"] == 1.0 and m.settings["cross"]["AP"] == 1.0
    # Multi: en-q1 (5), en-q2 (4), de-q1 (1), de-q2 (0): relevant at ranks 1 and 3
    assert m.multi_ranks["en:q1"] == [1, 3]
    assert m.per_query["multi"]["AP"]["en:q1"] == pytest.approx((1 + 2 / 3) / 2)
    assert m.settings["multi"]["AP"] == pytest.approx(5 / 6)
    assert m.settings["multi"]["R@1"] == pytest.approx(0.5)  # one of two relevant at rank 1
    assert m.settings["multi"]["Success@1"] == 1.0
    assert m.pairs["AP"]["en"]["de"] == 1.0 and set(m.pairs) >= {"AP", "RR", "R@1", "R@10"}


def test_partial_ids_like_mlqa_r(pools):
    # q2 exists only in en and es; q3 only in de and en
    index = pools.make({"q1": ["de", "en", "es"], "q2": ["en", "es"], "q3": ["de", "en"]}, extra={"es": 2})
    rng = np.random.default_rng(0)
    q = rng.standard_normal((len(index.queries), 8))
    c = rng.standard_normal((len(index.candidates), 8))
    m = lareqa_metrics(q, c, index)
    assert m.pair_sizes["en"] == {"de": 2, "en": 3, "es": 2}
    assert m.pair_sizes["es"]["de"] == 1
    assert len(m.multi_ranks["en:q2"]) == 2 and len(m.multi_ranks["en:q1"]) == 3
    _check_against_sklearn(q, c, index, m, sample=None)


def _check_against_sklearn(q, c, index, m, sample, rng=None, pairs=None):
    """Brute-force reference: one sklearn AP per query and pool."""
    keys = [query_key(x) for x in index.queries]
    rows = (
        range(len(index.queries)) if sample is None else rng.choice(len(index.queries), sample, replace=False)
    )
    for i in rows:
        x = index.queries[i]
        y = np.zeros(len(index.candidates))
        y[list(index.gold[x.question_id].values())] = 1
        expected = average_precision_score(y, c @ q[i])
        assert m.per_query["multi"]["AP"][keys[i]] == pytest.approx(expected, abs=1e-9)
    for lx, ly in pairs or [(a, b) for a in index.languages for b in index.languages]:
        cols = index.cand_rows(ly)
        aps = []
        for i in index.query_rows(lx):
            gold = index.gold[index.queries[i].question_id]
            if ly in gold:
                y = (cols == gold[ly]).astype(float)
                aps.append(average_precision_score(y, c[cols] @ q[i]))
        assert m.pairs["AP"][lx][ly] == pytest.approx(np.mean(aps), abs=1e-9)


def test_candidate_text_and_subsample(pools):
    cand = Candidate("en:0:0", "en", "The sky is blue.", "The sky is blue. Grass is green.", "en:0")
    assert candidate_text(cand) == "The sky is blue."
    assert candidate_text(cand, "sentence+context") == "The sky is blue. The sky is blue. Grass is green."
    with pytest.raises(ValueError, match="sentence\\+context"):
        candidate_text(cand, "context")
    index = pools.make({f"q{i}": ["de", "en"] for i in range(10)})
    by_lang = {lang: [x for x in index.queries if x.lang == lang] for lang in index.languages}
    sub = subsample_questions(by_lang, 4, seed=1)
    assert {x.question_id for x in sub["de"]} == {x.question_id for x in sub["en"]}
    assert len(sub["en"]) == 4 and sub == subsample_questions(by_lang, 4, seed=1)


def test_unknown_gold_is_an_error():
    cands = [Candidate("en:0:0", "en", "s", "c", "en:0")]
    with pytest.raises(ValueError, match="en:x.*not in the pool"):
        LareqaIndex(["en"], [LareqaQuestion("x", "en", "q", "en:9:9")], cands)


@pytest.mark.slow
def test_real_xquad_r_pool_matches_sklearn_and_is_fast(shared_data):
    """Full XQuAD-R pool (13,014 candidates, 13,090 queries) with cheap embeddings: hashed character
    n-gram *counts*, so every score is an exact integer (identical however it is summed) and ties are
    frequent (duplicate sentences, equal overlaps). sklearn checks 300 sampled Multi queries and two
    full Mono/Cross pairs (the full sklearn loop would take minutes)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    from polyret.data.lareqa import load_lareqa

    data = load_lareqa(shared_data / "xquad-r")
    index = LareqaIndex.from_data(data)
    hv = HashingVectorizer(
        n_features=256, analyzer="char_wb", ngram_range=(2, 3), alternate_sign=False, norm=None
    )
    # small integer counts: float32 dot products are exact, so both sides see identical scores
    q = hv.transform([x.text for x in index.queries]).toarray().astype(np.float32)
    c = hv.transform([x.sentence for x in index.candidates]).toarray().astype(np.float32)
    t0 = time.perf_counter()
    m = lareqa_metrics(q, c, index)
    elapsed = time.perf_counter() - t0
    assert elapsed < 120, f"LAReQA metrics took {elapsed:.0f}s"
    assert len(m.per_query["multi"]["AP"]) == 13090
    assert all(len(r) == 11 for r in m.multi_ranks.values())
    _check_against_sklearn(
        q, c, index, m, sample=300, rng=np.random.default_rng(0), pairs=[("zh", "zh"), ("en", "de")]
    )


def _oracle_macros(q, c, index) -> dict[str, float]:
    """LAReQA macro AP from sklearn, one query at a time: Mono and Multi = mean over query languages
    of the per-language mean; Cross = mean over ordered pairs X != Y that hold a query."""
    mono, multi, cross = {}, {}, []
    for x in index.languages:
        rows = index.query_rows(x)
        mono_ap, multi_ap = [], []
        for i in rows:
            gold = index.gold[index.queries[i].question_id]
            y = np.zeros(len(index.candidates))
            y[list(gold.values())] = 1
            multi_ap.append(average_precision_score(y, c @ q[i]))
            cols = index.cand_rows(x)
            mono_ap.append(average_precision_score(cols == gold[x], c[cols] @ q[i]))
        mono[x], multi[x] = np.mean(mono_ap), np.mean(multi_ap)
        for ly in index.languages:
            cols = index.cand_rows(ly)
            aps = [
                average_precision_score(cols == index.gold[index.queries[i].question_id][ly], c[cols] @ q[i])
                for i in rows
                if ly != x and ly in index.gold[index.queries[i].question_id]
            ]
            if aps:
                cross.append(np.mean(aps))
    macro = {"mono": np.mean(list(mono.values())), "multi": np.mean(list(multi.values()))}
    return {**macro, "cross": np.mean(cross)}


@pytest.mark.parametrize("seed", range(4))
def test_macro_averages_match_sklearn_oracle_on_random_partial_pools(pools, seed):
    """Random pools where each question id exists in a random subset of languages (as in MLQA-R),
    random filler candidates, and integer embeddings (many exact ties): every setting's macro AP is
    the oracle's, per query AP is sklearn's."""
    rng = np.random.default_rng(seed)
    langs = ["ar", "de", "en", "zh"]
    langs_of = {
        f"q{i}": sorted(rng.choice(langs, size=int(rng.integers(1, 5)), replace=False)) for i in range(30)
    }
    index = pools.make(langs_of, extra={x: int(rng.integers(0, 5)) for x in langs})
    dim = 5
    q = rng.integers(-2, 3, size=(len(index.queries), dim)).astype(np.float64)
    c = rng.integers(-2, 3, size=(len(index.candidates), dim)).astype(np.float64)
    m = lareqa_metrics(q, c, index)
    oracle = _oracle_macros(q, c, index)
    for setting in ("mono", "cross", "multi"):
        assert m.settings[setting]["AP"] == pytest.approx(oracle[setting], abs=1e-12), setting
    # per query too, and Cross cells only for the ids that exist in the candidate language
    _check_against_sklearn(q, c, index, m, sample=None)
    sizes = {(x, y): sum(1 for r in index.query_rows(x) if y in index.gold[index.queries[r].question_id])
             for x in langs for y in langs}
    assert all(m.pair_sizes[x][y] == n for (x, y), n in sizes.items())
