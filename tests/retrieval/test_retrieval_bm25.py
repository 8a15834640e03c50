"""BM25 via bm25s: stemming, stopwords, titles, character-split languages, Run interface."""

from __future__ import annotations

import pytest

from polyret.retrieval.bm25 import BM25Index, bm25_search, tokenize, tokenizer_info
from polyret.types import Document, Query

CORPUS = {
    "d1": Document("d1", "The cats were running around the garden all afternoon.", "Garden cats"),
    "d2": Document("d2", "Dogs bark loudly at the postman."),
    "d3": Document("d3", "Paris is the capital of France.", "Capital cities"),
    "d4": Document("d4", "A note on botany.", "Photosynthesis"),
}


def test_english_stemming_and_stopwords():
    # bm25s' English list is Lucene's 33 stopwords (as Anserini / Pyserini use): "were" stays
    assert tokenize(["The cats are running", "they were"], "en") == [["cat", "run"], ["were"]]
    info = tokenizer_info("en")
    assert info["stemmer"] == "PyStemmer:english" and info["stopwords"] == "en"


def test_search_returns_a_run_with_matching_docs_only():
    run = bm25_search(CORPUS, {"q1": Query("q1", "a cat runs"), "q2": Query("q2", "the of"),
                               "q3": Query("q3", "zebra")}, top_k=3)
    assert list(run["q1"]) == ["d1"]
    assert run["q2"] == {} and run["q3"] == {}  # only stopwords / no matching term


def test_title_is_indexed():
    run = bm25_search(CORPUS, {"q": Query("q", "photosynthesis")})
    assert list(run["q"]) == ["d4"]


def test_ties_are_broken_by_doc_id():
    corpus = {d: Document(d, "identical words here") for d in ("c", "a", "b")}
    run = bm25_search(corpus, {"q": Query("q", "identical")}, top_k=2)
    assert list(run["q"]) == ["a", "b"]


def test_languages_without_spaces_are_split_into_characters():
    assert tokenizer_info("zh")["split_characters"]
    corpus = {"z1": Document("z1", "东京是日本的首都"), "z2": Document("z2", "巴黎是法国的首都")}
    run = bm25_search(corpus, {"q": Query("q", "日本首都")}, language="zh")
    assert next(iter(run["q"])) == "z1"


def test_other_languages_use_their_stemmer():
    info = tokenizer_info("de")
    assert info["stemmer"] == "PyStemmer:german" and info["stopwords"] == "de"
    assert tokenizer_info("sw")["stemmer"] is None  # no Snowball stemmer: plain words
    corpus = {"a": Document("a", "Die Häuser sind groß"), "b": Document("b", "Der Hund schläft")}
    assert list(bm25_search(corpus, {"q": Query("q", "Haus")}, language="de")["q"]) == ["a"]


def test_empty_corpus_is_an_error():
    with pytest.raises(ValueError, match="empty corpus"):
        BM25Index({})
