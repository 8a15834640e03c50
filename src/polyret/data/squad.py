"""SQuAD-format QA files (SQuAD v1.1, its translations, XQuAD, ARCD/TQuAD/CMRC/KorQuAD) as
question-passage pairs.

One :class:`~polyret.types.QAPair` per question: ``item_id`` is the question id (shared by
translations), ``passage`` the paragraph's context, ``passage_id`` ``<lang>:<title>:<index>``
(index = the paragraph's position in the file), ``answer`` the first answer's text.
``answer_start`` may be an int or a numeric string (TQuAD); it is not needed for pairs.
"""

from __future__ import annotations

from pathlib import Path

from polyret.data.errors import DataFormatError
from polyret.data.io import optional_str, read_json, require_id, require_text
from polyret.data.languages import check_language
from polyret.types import QAPair


def iter_squad_paragraphs(path: str | Path):
    """Yield ``(where, title, paragraph dict)`` for each paragraph of a SQuAD-format file."""
    path = Path(path)
    doc = read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DataFormatError(path, None, "expected a SQuAD-format object with a 'data' list")
    for ai, article in enumerate(doc["data"]):
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise DataFormatError(path, None, f"data[{ai}]: expected an article with a 'paragraphs' list")
        title = optional_str(article, "title", path, None, f"data[{ai}]: ")
        for pi, par in enumerate(article["paragraphs"]):
            where = f"data[{ai}].paragraphs[{pi}]"
            if not isinstance(par, dict) or not isinstance(par.get("context"), str):
                raise DataFormatError(path, None, f"{where}: paragraph without a 'context' string")
            if not isinstance(par.get("qas", []), list):
                raise DataFormatError(path, None, f"{where}.qas: expected a list")
            yield where, title, par


def read_squad_pairs(path: str | Path, lang: str, first_index: int = 0) -> list[QAPair]:
    """Read a SQuAD-format ``.json`` / ``.json.gz`` file into question-passage pairs.

    ``first_index`` offsets the paragraph index of ``passage_id`` (to keep ids unique when one
    language spans several files, e.g. ARCD train + test).

    Duplicate question ids, questions without text or without any answer are errors naming the
    file and the location (``data[i].paragraphs[j].qas[k]``).
    """
    path = Path(path)
    check_language(lang, path)
    pairs: list[QAPair] = []
    seen: set[str] = set()
    for p_index, (where, title, par) in enumerate(iter_squad_paragraphs(path), first_index):
        passage_id = f"{lang}:{title}:{p_index}"
        for qi, qa in enumerate(par.get("qas", [])):
            qwhere = f"{where}.qas[{qi}]"
            qid, question, answer = _question_fields(path, qwhere, qa)
            if qid in seen:
                raise DataFormatError(path, None, f"{qwhere}: duplicate question id {qid!r}")
            seen.add(qid)
            pairs.append(QAPair(qid, lang, question.strip(), par["context"], passage_id, title, answer))
    return pairs


def _question_fields(path: Path, where: str, qa: object) -> tuple[str, str, str]:
    """(id, question, first answer's text) of one ``qas`` entry, checked without coercion."""
    if not isinstance(qa, dict):
        raise DataFormatError(path, None, f"{where}: expected an object")
    qid = require_id(qa, "id", path, None, f"{where}: ")
    question = require_text(qa, "question", path, None, f"{where}: ")
    answers = qa.get("answers")
    if not isinstance(answers, list) or not answers or not isinstance(answers[0], dict):
        raise DataFormatError(path, None, f"{where}: question {qid!r} has no answers")
    answer = optional_str(answers[0], "text", path, None, f"{where}.answers[0]: ")
    return qid, question, answer


def squad_counts(path: str | Path) -> dict[str, int]:
    """Articles, paragraphs and questions of a SQuAD-format file."""
    titles: list[str] = []
    paragraphs = questions = 0
    last = None
    for where, title, par in iter_squad_paragraphs(path):
        article = where.split(".")[0]
        if article != last:
            titles.append(title)
            last = article
        paragraphs += 1
        questions += len(par.get("qas", []))
    return {"articles": len(titles), "paragraphs": paragraphs, "questions": questions}
