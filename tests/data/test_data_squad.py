from __future__ import annotations

import pytest
from data_builders import squad_doc, write_json

from polyret.data.errors import DataFormatError
from polyret.data.squad import read_squad_pairs, squad_counts

DOC = squad_doc(
    [
        ("Paris", [("Paris is the capital of France.", [("a1", "Capital of France?", "Paris")])]),
        (
            "Rivers",
            [
                ("The Rhine flows north.", [("a2", "Which way?", "north"), ("a3", "Which river?", "Rhine")]),
                ("The Seine is in Paris.", [("a4", "Where is the Seine?", "Paris")]),
            ],
        ),
    ]
)


@pytest.mark.parametrize("gz", [False, True])
def test_pairs_from_json_and_json_gz(tmp_path, gz):
    path = write_json(tmp_path / ("f.json.gz" if gz else "f.json"), DOC, gz=gz)
    pairs = read_squad_pairs(path, "en")
    assert [p.item_id for p in pairs] == ["a1", "a2", "a3", "a4"]
    p = pairs[1]
    assert (p.lang, p.question, p.passage, p.title, p.answer) == (
        "en",
        "Which way?",
        "The Rhine flows north.",
        "Rivers",
        "north",
    )
    assert [q.passage_id for q in pairs] == ["en:Paris:0", "en:Rivers:1", "en:Rivers:1", "en:Rivers:2"]
    assert squad_counts(path) == {"articles": 2, "paragraphs": 3, "questions": 4}


def test_first_index_offsets_passage_ids(tmp_path):
    path = write_json(tmp_path / "f.json", DOC)
    assert read_squad_pairs(path, "ar", first_index=10)[0].passage_id == "ar:Paris:10"


def test_string_answer_start_and_extra_answers_are_accepted(tmp_path):
    doc = squad_doc([("T", [("ctx text", [("1", "q?", "text")])])])
    doc["data"][0]["paragraphs"][0]["qas"][0]["answers"] = [
        {"answer_start": "4", "text": "text"},
        {"answer_start": "0", "text": "ctx"},
    ]
    (pair,) = read_squad_pairs(write_json(tmp_path / "t.json", doc), "tr")
    assert pair.answer == "text" and pair.item_id == "1"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["data"][1]["paragraphs"][0]["qas"][1].__setitem__("id", "a1"),
            "duplicate question id 'a1'",
        ),
        (lambda d: d["data"][1]["paragraphs"][1]["qas"][0].__setitem__("answers", []), "has no answers"),
        (lambda d: d["data"][0]["paragraphs"][0]["qas"][0].pop("question"),
         "field 'question' must be a non-empty string, got null"),
        (lambda d: d["data"][1]["paragraphs"][0].pop("context"), "paragraph without a 'context'"),
        (lambda d: d.pop("data"), "expected a SQuAD-format object"),
    ],
)
def test_bad_structure_names_file_and_location(tmp_path, mutate, message):
    import copy

    doc = copy.deepcopy(DOC)
    mutate(doc)
    with pytest.raises(DataFormatError, match=message) as e:
        read_squad_pairs(write_json(tmp_path / "bad.json", doc), "en")
    assert e.value.path.name == "bad.json"


def test_truncated_gzip_json_is_a_clear_error(tmp_path):
    import gzip

    path = tmp_path / "cut.json.gz"
    with gzip.open(path, "wt") as f:
        f.write('{"data": [{"title": "x",\n "paragraphs": [')
    with pytest.raises(DataFormatError, match=r"cut\.json\.gz:2: malformed JSON"):
        read_squad_pairs(path, "it")


def test_unknown_language_code(tmp_path):
    with pytest.raises(DataFormatError, match=r"f\.json: unknown language code 'eng'.*two-letter"):
        read_squad_pairs(write_json(tmp_path / "f.json", DOC), "eng")
