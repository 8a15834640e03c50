"""BM25 with ``bm25s``: per-language stemming (PyStemmer) and stopwords, same Run interface as dense search.

Documents are indexed as ``title + " " + text`` (as BEIR does). Tokenisation is lower-cased word
regex ``(?u)\\b\\w\\w+\\b`` plus, where available, the language's stopword list (bm25s) and Snowball
stemmer (PyStemmer); Chinese, Japanese and Thai, written without spaces, are split into single
characters instead. :func:`tokenizer_info` describes the choice so it can be saved beside a run.
"""

from __future__ import annotations

import logging
import re

import numpy as np

from polyret.retrieval.text import document_text
from polyret.types import Corpus, Queries, Run

log = logging.getLogger(__name__)

STEMMERS = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech", "da": "danish",
    "nl": "dutch", "en": "english", "eo": "esperanto", "et": "estonian", "fi": "finnish", "fr": "french",
    "de": "german", "el": "greek", "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish",
    "it": "italian", "lt": "lithuanian", "ne": "nepali", "no": "norwegian", "fa": "persian", "pl": "polish",
    "pt": "portuguese", "ro": "romanian", "ru": "russian", "sr": "serbian", "es": "spanish",
    "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}
STOPWORDS = ("en", "zh", "da", "nl", "fr", "de", "it", "ko", "no", "pt", "ru", "es", "sv", "tr")
CHAR_LANGUAGES = ("zh", "ja", "th")
WORD_PATTERN = r"(?u)\b\w\w+\b"
CHAR_PATTERN = r"(?u)\b\w+\b"
# CJK ideographs, kana, Hangul syllables, Thai: split into single characters for CHAR_LANGUAGES
_CHARS = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f])")


def _lang(language: str) -> str:
    code = language.lower().replace("_", "-").split("-")[0]
    return "en" if code in ("english", "eng") else code


def tokenizer_info(language: str = "en") -> dict:
    """What :func:`tokenize` does for ``language`` (saved beside BM25 runs)."""
    code = _lang(language)
    chars = code in CHAR_LANGUAGES
    return {
        "library": "bm25s",
        "language": code,
        "lowercase": True,
        "token_pattern": CHAR_PATTERN if chars else WORD_PATTERN,
        "split_characters": chars,
        "stopwords": code if code in STOPWORDS else None,
        "stemmer": f"PyStemmer:{STEMMERS[code]}" if code in STEMMERS else None,
    }


def tokenize(texts: list[str], language: str = "en", show_progress: bool = False) -> list[list[str]]:
    """Tokenise ``texts`` as :func:`tokenizer_info` describes (lists of string tokens)."""
    import bm25s

    info = tokenizer_info(language)
    if info["split_characters"]:
        texts = [_CHARS.sub(r" \1 ", t) for t in texts]
    stemmer = None
    if info["stemmer"]:
        import Stemmer

        stemmer = Stemmer.Stemmer(STEMMERS[info["language"]])
    return bm25s.tokenize(texts, lower=True, token_pattern=info["token_pattern"],
                          stopwords=info["stopwords"] or [], stemmer=stemmer, return_ids=False,
                          show_progress=show_progress)


class BM25Index:
    """A bm25s index over a corpus; ``search`` returns a Run."""

    def __init__(self, corpus: Corpus, language: str = "en", k1: float = 0.9, b: float = 0.4,
                 method: str = "lucene", show_progress: bool = False):
        import bm25s

        if not corpus:
            raise ValueError("cannot build a BM25 index over an empty corpus")
        self.doc_ids = sorted(corpus)
        self.language = language
        self.info = {**tokenizer_info(language), "k1": k1, "b": b, "method": method}
        texts = [document_text(corpus[d]) for d in self.doc_ids]
        self.retriever = bm25s.BM25(k1=k1, b=b, method=method)
        self.retriever.index(tokenize(texts, language, show_progress), show_progress=show_progress)
        self.show_progress = show_progress

    def search(self, queries: Queries, top_k: int = 100) -> Run:
        """Top-k documents per query with score > 0 (a score of 0 means no query term matched);
        ties by doc id ascending."""
        qids = list(queries)
        run: Run = {q: {} for q in qids}
        if not qids:
            return run
        import torch

        from polyret.retrieval.search import _chunk_topk, _sort_desc_stable

        k = min(top_k, len(self.doc_ids))
        tokens = tokenize([queries[q].text for q in qids], self.language)
        has_terms = [i for i, t in enumerate(tokens) if t]
        for start in range(0, len(has_terms), 256):  # full score rows: exact, deterministic top-k
            rows = has_terms[start : start + 256]
            scores = torch.from_numpy(np.stack([self.retriever.get_scores(tokens[i]) for i in rows])
                                      .astype(np.float32))  # (B, N), docs in doc id order
            top_s, top_i = _sort_desc_stable(*_chunk_topk(scores, k))
            for row, i in enumerate(rows):
                run[qids[i]] = {self.doc_ids[j]: float(s) for s, j in zip(top_s[row].tolist(),
                                                                           top_i[row].tolist(), strict=True)
                                if s > 0}
        return run


def bm25_search(corpus: Corpus, queries: Queries, top_k: int = 100, language: str = "en",
                k1: float = 0.9, b: float = 0.4, show_progress: bool = False) -> Run:
    """BM25 (Lucene variant, Anserini's default k1=0.9, b=0.4) over ``title + " " + text``.
    The tokenizer used is :func:`tokenizer_info` ``(language)``."""
    index = BM25Index(corpus, language=language, k1=k1, b=b, show_progress=show_progress)
    log.info("BM25 tokenizer: %s", index.info)
    return index.search(queries, top_k)
