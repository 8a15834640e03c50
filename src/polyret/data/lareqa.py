"""LAReQA-format answer-sentence retrieval sets (XQuAD-R, MLQA-R).

Each ``<lang>.json`` is SQuAD v1.1 JSON plus, per paragraph, ``sentences`` and
``sentence_breaks`` (``[start, end)`` offsets into ``context``). A candidate is one sentence
(its text is the ``sentences`` entry; duplicate strings stay separate candidates); the gold of a
question is the candidate whose break span holds ``answers[0].answer_start``.

Sentence-break rule (tested): a span ``[a, b)`` with ``context[a:b] == sentence`` is fine. A span
that does not match is *shifted* (tolerated) when some window ``context[a+i:b+j]`` with
``|i|, |j| <= MAX_SHIFT`` (2) equals the sentence, or equals it outside one contiguous run (a common
non-empty prefix and suffix) in which at most ``2 * MAX_SHIFT`` characters are inserted or deleted.
Shifted spans are kept as given (the gold is still located through the breaks) and reported by one
:class:`DataWarning` per file with their count (total in ``LareqaData.shifted_breaks``). This covers
the published ``xquad-r/tr.json``: a 3-character mis-encoding of one character inside one sentence
and, after it, a sentence whose break is 2 characters early. Any other mismatch, a span outside the context,
differing numbers of sentences and breaks, or an answer start outside every span is a
:class:`DataFormatError` naming the file and the paragraph.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

from polyret.data.errors import DataFormatError, DataWarning
from polyret.data.io import optional_str, read_json, require_id, require_text
from polyret.data.languages import check_language
from polyret.types import Candidate, LareqaQuestion

MAX_SHIFT = 2


@dataclass
class LareqaData:
    """A LAReQA pool: questions per language and the pooled multilingual candidates.

    ``candidates`` is ordered by (language, paragraph, sentence); ``questions[lang]`` in file order.
    Question ids link translations: the gold of id ``Q`` in language ``L`` is
    ``question(Q, L).gold_cand_id``.
    """

    name: str
    languages: tuple[str, ...]
    questions: dict[str, list[LareqaQuestion]]
    candidates: list[Candidate]
    titles: dict[str, set[str]] = field(default_factory=dict)  # lang -> article titles
    shifted_breaks: int = 0  # tolerated sentence-break spans (see module docstring)
    answers_past_sentence: dict[str, int] = field(default_factory=dict)  # lang -> count

    def candidates_by_lang(self, lang: str) -> list[Candidate]:
        """The candidates of one language, in pool order."""
        return [c for c in self.candidates if c.lang == lang]

    def question(self, question_id: str, lang: str) -> LareqaQuestion:
        """The question ``question_id`` in ``lang`` (KeyError if that translation is absent)."""
        index = self._index()
        return index[(question_id, lang)]

    def question_languages(self) -> dict[str, tuple[str, ...]]:
        """question id -> the languages it exists in (the cross-language links)."""
        out: dict[str, list[str]] = {}
        for lang in self.languages:
            for q in self.questions[lang]:
                out.setdefault(q.question_id, []).append(lang)
        return {qid: tuple(langs) for qid, langs in out.items()}

    def _index(self) -> dict[tuple[str, str], LareqaQuestion]:
        cache = self.__dict__.get("_qindex")
        if cache is None:
            cache = {(q.question_id, q.lang): q for qs in self.questions.values() for q in qs}
            self.__dict__["_qindex"] = cache
        return cache


def _span_is_shifted(context: str, a: int, b: int, sentence: str) -> bool:
    """Whether moving each end of ``[a, b)`` by at most MAX_SHIFT nearly reproduces ``sentence``.

    "Nearly": equal, or equal outside one contiguous run (common non-empty prefix and suffix) in
    which at most ``2 * MAX_SHIFT`` characters are inserted or deleted (an encoding artefact).
    """
    for i in range(-MAX_SHIFT, MAX_SHIFT + 1):
        for j in range(-MAX_SHIFT, MAX_SHIFT + 1):
            lo, hi = a + i, b + j
            if lo < 0 or hi > len(context) or lo >= hi:
                continue
            window = context[lo:hi]
            if window == sentence:
                return True
            n = min(len(window), len(sentence))
            p = next((k for k in range(n) if window[k] != sentence[k]), n)
            q = next((k for k in range(n - p) if window[-1 - k] != sentence[-1 - k]), n - p)
            if p and q and (len(window) - p - q) + (len(sentence) - p - q) <= 2 * MAX_SHIFT:
                return True
    return False


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _paragraph_spans(path: Path, where: str, par: dict) -> tuple[list[str], list[tuple[int, int]], int]:
    """Validate one paragraph's sentences/breaks; return them and the number of shifted spans."""
    context = par.get("context")
    sentences = par.get("sentences")
    breaks = par.get("sentence_breaks")
    if not isinstance(context, str) or not isinstance(sentences, list) or not isinstance(breaks, list):
        raise DataFormatError(path, None, f"{where}: needs 'context', 'sentences' and 'sentence_breaks'")
    if len(sentences) != len(breaks):
        raise DataFormatError(
            path, None, f"{where}: {len(sentences)} sentences but {len(breaks)} sentence_breaks"
        )
    spans: list[tuple[int, int]] = []
    shifted = 0
    for k, (sentence, span) in enumerate(zip(sentences, breaks, strict=True)):
        if not (isinstance(span, list | tuple) and len(span) == 2 and all(_is_int(x) for x in span)):
            raise DataFormatError(
                path, None, f"{where}.sentence_breaks[{k}]: expected [start, end], got {span!r}"
            )
        a, b = span
        if not 0 <= a < b <= len(context):
            raise DataFormatError(
                path,
                None,
                f"{where}.sentence_breaks[{k}]: span {span} outside the context (length {len(context)})",
            )
        if not isinstance(sentence, str):
            raise DataFormatError(path, None, f"{where}.sentences[{k}]: not a string")
        if context[a:b] != sentence:
            if not _span_is_shifted(context, a, b, sentence):
                raise DataFormatError(
                    path,
                    None,
                    f"{where}.sentence_breaks[{k}]: span {span} holds {context[a:b][:60]!r}, which does not "
                    f"match sentence {sentence[:60]!r} (more than {MAX_SHIFT} characters off)",
                )
            shifted += 1
        spans.append((a, b))
    return sentences, spans, shifted


def read_lareqa_file(
    path: str | Path, lang: str
) -> tuple[list[LareqaQuestion], list[Candidate], set[str], int, int]:
    """Read one ``<lang>.json``: (questions, candidates, titles, shifted spans, answers past sentence)."""
    path = Path(path)
    doc = read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DataFormatError(path, None, "expected a SQuAD-format object with a 'data' list")
    questions: list[LareqaQuestion] = []
    candidates: list[Candidate] = []
    titles: set[str] = set()
    shifted = past = 0
    p_index = 0
    seen_ids: set[str] = set()
    for ai, article in enumerate(doc["data"]):
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise DataFormatError(path, None, f"data[{ai}]: expected an article with a 'paragraphs' list")
        titles.add(optional_str(article, "title", path, None, f"data[{ai}]: "))
        for pi, par in enumerate(article["paragraphs"]):
            where = f"data[{ai}].paragraphs[{pi}]"
            if not isinstance(par, dict) or not isinstance(par.get("qas", []), list):
                raise DataFormatError(path, None, f"{where}: expected a paragraph object with a 'qas' list")
            sentences, spans, n_shift = _paragraph_spans(path, where, par)
            shifted += n_shift
            paragraph_id = f"{lang}:{p_index}"
            ids = [f"{lang}:{p_index}:{k}" for k in range(len(sentences))]
            candidates += [
                Candidate(cid, lang, s, par["context"], paragraph_id)
                for cid, s in zip(ids, sentences, strict=True)
            ]
            for qi, qa in enumerate(par.get("qas", [])):
                qwhere = f"{where}.qas[{qi}]"
                qid, text, start, answer = _question_fields(path, qwhere, qa)
                if qid in seen_ids:
                    raise DataFormatError(path, None, f"{qwhere}: duplicate question id {qid!r}")
                seen_ids.add(qid)
                gold = next((k for k, (a, b) in enumerate(spans) if a <= start < b), None)
                if gold is None:
                    raise DataFormatError(
                        path, None, f"{qwhere}: answer_start {start} lies in no sentence_breaks span"
                    )
                past += start + len(answer) > spans[gold][1]
                questions.append(LareqaQuestion(qid, lang, text, ids[gold]))
            p_index += 1
    return questions, candidates, titles, shifted, past


def _question_fields(path: Path, where: str, qa: object) -> tuple[str, str, int, str]:
    """(id, question, answer_start, answer text) of one ``qas`` entry, checked without coercion."""
    if not isinstance(qa, dict):
        raise DataFormatError(path, None, f"{where}: expected an object")
    qid = require_id(qa, "id", path, None, f"{where}: ")
    text = require_text(qa, "question", path, None, f"{where}: ")
    answers = qa.get("answers")
    if not isinstance(answers, list) or not answers or not isinstance(answers[0], dict):
        raise DataFormatError(path, None, f"{where}: question {qid!r} has no answers")
    start = answers[0].get("answer_start")
    if isinstance(start, str) and start.isascii() and start.isdigit():
        start = int(start)  # a numeric string, as some SQuAD-format files write it
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        raise DataFormatError(
            path, None, f"{where}.answers[0].answer_start: expected a non-negative integer, got {start!r}"
        )
    return qid, text, start, optional_str(answers[0], "text", path, None, f"{where}.answers[0]: ")


def lareqa_languages(folder: str | Path) -> tuple[str, ...]:
    """Languages present in a LAReQA folder (``<lang>.json`` files), sorted."""
    return tuple(sorted(p.stem for p in Path(folder).glob("*.json")))


def load_lareqa(folder: str | Path, languages: tuple[str, ...] | list[str] | None = None) -> LareqaData:
    """Load a LAReQA folder (``xquad-r``, ``mlqa-r``); ``languages=None`` means every ``<lang>.json``."""
    folder = Path(folder)
    present = lareqa_languages(folder)
    for lang in present:
        check_language(lang, folder / f"{lang}.json")
    langs = tuple(sorted(languages)) if languages is not None else present
    if not langs:
        raise FileNotFoundError(f"no <lang>.json files in {folder}")
    questions: dict[str, list[LareqaQuestion]] = {}
    candidates: list[Candidate] = []
    titles: dict[str, set[str]] = {}
    past: dict[str, int] = {}
    shifted_total = 0
    for lang in langs:
        check_language(lang)
        path = folder / f"{lang}.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found (languages present in {folder}: {', '.join(present)})")
        qs, cands, tit, shifted, n_past = read_lareqa_file(path, lang)
        questions[lang], titles[lang], past[lang] = qs, tit, n_past
        candidates += cands
        if shifted:
            shifted_total += shifted
            warnings.warn(
                f"{path}: {shifted} sentence_breaks spans are shifted by up to {MAX_SHIFT} characters "
                "against the context or hold a small encoding artefact (tolerated: candidate text from "
                "'sentences', gold from the breaks)",
                DataWarning,
                stacklevel=2,
            )
    return LareqaData(folder.name, langs, questions, candidates, titles, shifted_total, past)
