"""``polyret data stats`` reproduces every count of ../shared/data/README.md (real data, ~5 s total)."""

from __future__ import annotations

import json
import warnings

import pytest

from polyret.data.stats import dataset_stats

pytestmark = pytest.mark.slow

XQUAD_R_CANDIDATES = {"ar": 1222, "de": 1276, "el": 1234, "en": 1180, "es": 1215, "hi": 1244, "ru": 1219,
                      "th": 852, "tr": 1167, "vi": 1209, "zh": 1196}  # fmt: skip
MLQA_R_QUESTIONS = {"ar": 517, "de": 512, "en": 1148, "es": 500, "hi": 507, "vi": 511, "zh": 504}
MLQA_R_CANDIDATES = {"ar": 2545, "de": 2362, "en": 6264, "es": 1787, "hi": 2426, "vi": 2828, "zh": 2322}


def stats(name, shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dataset_stats(name, shared_data)


def test_xquad_r_via_cli(shared_data, capsys):
    from polyret.cli import main

    assert main(["data", "stats", "xquad-r", "--data-dir", str(shared_data)]) == 0
    captured = capsys.readouterr()
    assert "tr.json: 2 sentence_breaks spans" in captured.err
    s = json.loads(captured.out)
    assert (s["languages"], s["questions"], s["candidates"]) == (11, 13090, 13014)
    assert {k: v["candidates"] for k, v in s["per_language"].items()} == XQUAD_R_CANDIDATES
    assert all(v["questions"] == 1190 and v["paragraphs"] == 240 for v in s["per_language"].values())
    assert s["question_ids_by_language_count"] == {"11": 1190}
    assert s["shifted_sentence_breaks"] == 2
    assert all(2 <= v["answers_past_sentence"] <= 20 for v in s["per_language"].values())
    zh = s["per_language"]["zh"]
    assert (zh["candidates"], zh["unique_candidate_texts"]) == (1196, 1192)


def test_mlqa_r(shared_data):
    s = stats("mlqa-r", shared_data)
    assert (s["languages"], s["questions"], s["candidates"]) == (7, 4199, 20534)
    assert {k: v["questions"] for k, v in s["per_language"].items()} == MLQA_R_QUESTIONS
    assert {k: v["candidates"] for k, v in s["per_language"].items()} == MLQA_R_CANDIDATES
    assert s["question_ids_by_language_count"] == {"4": 820, "3": 263, "2": 65}
    assert s["shifted_sentence_breaks"] == 0
    assert all(1 <= v["answers_past_sentence"] <= 8 for v in s["per_language"].values())


def test_squad_format_sets(shared_data):
    xq = stats("xquad", shared_data)
    assert xq["languages"] == 12 and "ro" in xq["per_language"]
    assert all(
        v == {"articles": 48, "paragraphs": 240, "questions": 1190} for v in xq["per_language"].values()
    )
    assert stats("squad-dev", shared_data)["per_language"]["en"] == {
        "articles": 48,
        "paragraphs": 2067,
        "questions": 10570,
    }
    translated = {
        lang: stats(f"squad-translated/{lang}", shared_data)["questions"] for lang in ("es", "da", "it")
    }
    assert translated == {"es": 6583, "da": 7599, "it": 7609}
    from polyret.data.parallel import read_dataset_pairs

    en_ids = {p.item_id for p in read_dataset_pairs("squad-dev", shared_data)}
    new_ids = {
        lang: len({p.item_id for p in read_dataset_pairs(f"squad-translated/{lang}", shared_data)} - en_ids)
        for lang in ("es", "da", "it")
    }
    assert new_ids == {"es": 0, "da": 0, "it": 714}  # SQuAD-it gives 714 questions ids of its own
    mono = {lang: stats(f"qa-mono/{lang}", shared_data)["questions"] for lang in ("ar", "tr", "zh", "ko")}
    assert mono == {"ar": 1395, "tr": 9200, "zh": 4221, "ko": 5774}


def test_beir(shared_data):
    nf, sf, arg = (stats(f"beir/{n}", shared_data) for n in ("nfcorpus", "scifact", "arguana"))
    assert (nf["docs"], nf["splits"]["test"]["judged_queries"]) == (3633, 323)
    assert (sf["docs"], sf["splits"]["test"]["judged_queries"]) == (5183, 300)
    assert (arg["docs"], arg["queries"], arg["splits"]["test"]["queries_in_qrels"]) == (8674, 1406, 1406)
    # BEIR practice: arguana qrels naming documents absent from the corpus are skipped and counted
    assert arg["splits"]["test"]["qrels_skipped_missing_doc"] == 5


def test_miracl_and_bright(shared_data):
    from polyret.data._entries import BRIGHT_SUBSETS, MIRACL_LANGS

    dev = {lang: stats(f"miracl/{lang}", shared_data)["splits"]["dev"]["queries"] for lang in MIRACL_LANGS}
    assert len(dev) == 18 and (dev["en"], dev["ar"], dev["yo"]) == (799, 2896, 119)
    counts = [stats(f"bright/{s}", shared_data)["queries"] for s in BRIGHT_SUBSETS]
    assert len(counts) == 12 and min(counts) == 76 and max(counts) == 194


def test_overlaps_between_evaluation_and_training_sets(shared_data):
    from polyret.data.parallel import evaluation_contexts, evaluation_titles
    from polyret.data.stats import normalise_title

    xqr, mlqar = evaluation_contexts("xquad-r", shared_data), evaluation_contexts("mlqa-r", shared_data)
    assert not xqr & mlqar
    assert not evaluation_titles("xquad-r", shared_data) & evaluation_titles("mlqa-r", shared_data)
    xquad_en = evaluation_contexts("xquad", shared_data)  # all 12 languages' paragraphs
    squad = evaluation_contexts("squad-dev", shared_data)
    assert len(xquad_en & squad) == 240
    squad_titles = {normalise_title(t) for t in evaluation_titles("squad-dev", shared_data)}
    mlqa_titles = {normalise_title(t) for t in evaluation_titles("mlqa-r", shared_data)}
    assert squad_titles & mlqa_titles == {"harvard university", "prime number"}


def test_squad_parallel_join_minus_xquad(shared_data):
    s = stats("squad-parallel", shared_data)
    assert s["en_with_translation"] == 8784
    assert s["en_pairs_with"] == {"da": 6740, "es": 5851, "it": 6117}
    assert s["in_all_languages"] == 3187
    assert s["dropped"]["overlapping_xquad_items"] == 1190
    assert s["dropped"]["overlapping_xquad_passages"]["en"] == 240
    assert s["article_title_overlap"]["xquad-r"]["shared_titles"] == 48
    assert s["article_title_overlap"]["mlqa-r"]["shared_titles"] == 2
