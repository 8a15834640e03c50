from __future__ import annotations

import warnings

import pytest
from data_builders import lareqa_paragraph, write_json

from polyret.data.errors import DataFormatError, DataWarning
from polyret.data.lareqa import MAX_SHIFT, load_lareqa


def _doc(*paragraphs, title="T"):
    return {"version": "1.1", "data": [{"title": title, "paragraphs": list(paragraphs)}]}


@pytest.fixture
def pool(tmp_path):
    folder = tmp_path / "pool"
    en1 = lareqa_paragraph(["Paris is big.", "It is in France."], [("q1", "Where?", 20), ("q2", "Big?", 0)])
    en2 = lareqa_paragraph(["Same text.", "Same text."], [("q3", "Dup?", 11)])
    de1 = lareqa_paragraph(["Paris ist gross.", "Es liegt in Frankreich."], [("q1", "Wo?", 20)])
    write_json(folder / "en.json", _doc(en1, en2))
    write_json(folder / "de.json", _doc(de1))
    return folder


def test_questions_candidates_gold_and_links(pool):
    data = load_lareqa(pool)
    assert data.languages == ("de", "en")
    # pool order: language, paragraph, sentence
    assert [c.cand_id for c in data.candidates] == [
        "de:0:0",
        "de:0:1",
        "en:0:0",
        "en:0:1",
        "en:1:0",
        "en:1:1",
    ]
    assert [c.sentence for c in data.candidates_by_lang("en")][:2] == ["Paris is big.", "It is in France."]
    assert (
        data.candidates[2].context == "Paris is big. It is in France."
        and data.candidates[2].paragraph_id == "en:0"
    )
    gold = {(q.question_id, q.lang): q.gold_cand_id for qs in data.questions.values() for q in qs}
    assert gold == {
        ("q1", "en"): "en:0:1",
        ("q2", "en"): "en:0:0",
        ("q3", "en"): "en:1:1",
        ("q1", "de"): "de:0:1",
    }
    assert data.question("q1", "de").text == "Wo?"
    assert data.question_languages() == {"q1": ("de", "en"), "q2": ("en",), "q3": ("en",)}


def test_duplicate_sentence_strings_are_separate_candidates(pool):
    en = load_lareqa(pool).candidates_by_lang("en")
    assert [c.sentence for c in en[2:]] == ["Same text.", "Same text."]
    assert len({c.cand_id for c in en}) == 4


def test_language_subset(pool):
    data = load_lareqa(pool, languages=["en"])
    assert data.languages == ("en",) and {c.lang for c in data.candidates} == {"en"}
    with pytest.raises(FileNotFoundError, match=r"fr\.json not found.*present.*de, en"):
        load_lareqa(pool, languages=["fr"])


def _shifted_paragraph():
    """Breaks computed on the sentences, context holding a 3-character mis-encoding (as xquad-r/tr.json)."""
    sentences = ["Alpha one.", "Beta 1\u205e2 two.", "Gamma three."]
    par = lareqa_paragraph(sentences, [])
    par["context"] = par["context"].replace("\u205e", "\u00e2\x81\u201e")
    return par


def test_breaks_shifted_within_tolerance_warn_with_count_and_keep_breaks(tmp_path):
    par = _shifted_paragraph()
    a3 = par["sentence_breaks"][2][0]
    par["qas"] = [{"id": "q", "question": "?", "answers": [{"text": "x", "answer_start": a3}]}]
    write_json(tmp_path / "p" / "tr.json", _doc(par))
    with pytest.warns(DataWarning, match=r"tr\.json: 2 sentence_breaks spans are shifted by up to 2"):
        data = load_lareqa(tmp_path / "p")
    assert data.shifted_breaks == 2
    # candidate text is the 'sentences' entry; gold located through the (shifted) breaks
    assert [c.sentence for c in data.candidates] == par["sentences"]
    assert data.questions["tr"][0].gold_cand_id == "tr:0:2"


def test_exact_breaks_do_not_warn(pool):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_lareqa(pool).shifted_breaks == 0


def test_pure_shift_of_max_shift_is_tolerated(tmp_path):
    par = lareqa_paragraph(["Alpha one.", "Beta two is here.", "Gamma three."], [])
    a, b = par["sentence_breaks"][1]
    par["sentence_breaks"][1] = [a - MAX_SHIFT, b - MAX_SHIFT]
    write_json(tmp_path / "p" / "en.json", _doc(par))
    with pytest.warns(DataWarning, match="1 sentence_breaks spans"):
        assert load_lareqa(tmp_path / "p").shifted_breaks == 1


@pytest.mark.parametrize("shift", [MAX_SHIFT + 1, MAX_SHIFT + 2, -(MAX_SHIFT + 1)])
def test_breaks_off_by_more_than_tolerance_are_an_error(tmp_path, shift):
    par = lareqa_paragraph(["Alpha one.", "Beta two is here.", "Gamma three."], [])
    a, b = par["sentence_breaks"][1]
    par["sentence_breaks"][1] = [a + shift, b + shift]
    write_json(tmp_path / "p" / "en.json", _doc(par))
    with pytest.raises(
        DataFormatError, match=r"en\.json: data\[0\]\.paragraphs\[0\]\.sentence_breaks\[1\]"
    ) as e:
        load_lareqa(tmp_path / "p")
    assert "does not match sentence 'Beta two is here.'" in str(e.value)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p["sentence_breaks"].pop(), "2 sentences but 1 sentence_breaks"),
        (lambda p: p["sentence_breaks"].__setitem__(1, [5, 999]), "outside the context"),
        (lambda p: p["qas"][0]["answers"][0].__setitem__("answer_start", 999), "answer_start 999 lies in no"),
        (lambda p: p["qas"][0].__setitem__("answers", []), "question 'q' has no answers"),
        (lambda p: p["qas"][0].__setitem__("question", None),
         r"qas\[0\]: field 'question' must be a non-empty string, got null"),
        (lambda p: p["qas"][0].__setitem__("id", ["t2"]), r"qas\[0\]: field 'id' must be a string, got list"),
        (lambda p: p["qas"][0]["answers"][0].__setitem__("answer_start", 3.0),
         r"answers\[0\]\.answer_start: expected a non-negative integer, got 3\.0"),
        (lambda p: p.pop("sentences"), "needs 'context', 'sentences' and 'sentence_breaks'"),
    ],
)
def test_structural_errors_name_the_file_and_location(tmp_path, mutate, message):
    par = lareqa_paragraph(["One two.", "Three four."], [("q", "?", 0)])
    mutate(par)
    write_json(tmp_path / "p" / "en.json", _doc(par))
    with pytest.raises(DataFormatError, match=message) as e:
        load_lareqa(tmp_path / "p")
    assert e.value.path.name == "en.json" and "data[0].paragraphs[0]" in str(e.value)


def test_unknown_language_file_is_an_error(tmp_path):
    write_json(tmp_path / "p" / "english.json", _doc(lareqa_paragraph(["A."], [])))
    with pytest.raises(DataFormatError, match=r"english\.json: unknown language code 'english'"):
        load_lareqa(tmp_path / "p")


def test_truncated_json_names_the_line(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "en.json").write_text('{"data": [\n{"title": "x",\n"paragraphs": [', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"en\.json:3: malformed JSON"):
        load_lareqa(folder)


def test_duplicate_question_id_in_one_language_is_an_error(tmp_path):
    par = lareqa_paragraph(["One two.", "Three four."], [("q", "?", 0), ("q", "??", 9)])
    write_json(tmp_path / "p" / "en.json", _doc(par))
    with pytest.raises(DataFormatError, match="duplicate question id 'q'"):
        load_lareqa(tmp_path / "p")
