from __future__ import annotations

import pytest
from data_builders import squad_doc, write_json

from polyret.data._entries import XQUAD_SHA256
from polyret.data.errors import DatasetNotFound
from polyret.data.parallel import JoinReport, join_stats, load_training_items, normalise_text, parallel_join
from polyret.types import QAPair


def pair(item, lang, passage, pid=None):
    return QAPair(item, lang, f"q {item} {lang}", passage, pid or f"{lang}:T:{passage}", "T", "a")


def test_join_groups_by_item_id_in_first_seen_order():
    items = parallel_join([pair("b", "en", "P1"), pair("a", "en", "P2"), pair("b", "es", "P1es")])
    assert [it.item_id for it in items] == ["b", "a"]
    assert items[0].languages == ("en", "es") and items[1].languages == ("en",)
    assert items[0].pairs["es"].passage == "P1es"


def test_same_item_and_language_twice_is_an_error():
    with pytest.raises(ValueError, match="item 'x' has two 'en' pairs"):
        parallel_join([pair("x", "en", "P"), pair("x", "en", "Q")])


def test_exclusion_by_context_text_ignores_whitespace_and_spreads_over_shared_passages():
    pairs = [
        pair("1", "en", "The  eval\nparagraph.", "en:T:0"),
        pair("1", "it", "Il paragrafo.", "it:T:0"),
        pair("it-only", "it", "Il paragrafo.", "it:T:0"),  # same Italian paragraph as a dropped item
        pair("2", "en", "Another paragraph.", "en:T:1"),
        pair("2", "it", "Un altro.", "it:T:1"),
    ]
    report = JoinReport()
    items = parallel_join(pairs, exclude_contexts=["The eval paragraph."], report=report)
    assert [it.item_id for it in items] == ["2"]
    assert report.excluded_items == 2 and report.excluded_passages == {"en": 1, "it": 1}
    assert normalise_text(" a \t b\n") == "a b"


def test_join_stats_counts_languages_and_sets():
    items = parallel_join(
        [pair("1", "en", "A"), pair("1", "es", "Aes"), pair("2", "en", "B"), pair("3", "es", "C")]
        + [pair("1", "da", "Ada")]
    )
    stats = join_stats(items)
    assert stats["items"] == 3
    assert stats["per_language"] == {"da": 1, "en": 2, "es": 2}
    assert stats["per_language_set"] == {"da+en+es": 1, "en": 1, "es": 1}
    assert stats["en_with_translation"] == 1 and stats["en_pairs_with"] == {"da": 1, "es": 1}
    assert stats["in_all_languages"] == 1 and stats["cross_lingual_items"] == 1


@pytest.fixture
def squad_root(tmp_path):
    """A data root in the catalog layout: English dev (official file name), es/da/it, XQuAD."""
    root = tmp_path / "data"
    eval_ctx = "Shared paragraph of the evaluation set."
    en = squad_doc(
        [
            ("A", [(eval_ctx, [("x1", "q?", "Shared"), ("x2", "q?", "set")])]),
            ("B", [("Train paragraph one.", [("t1", "q?", "one"), ("t2", "q?", "Train")])]),
            ("C", [("Train paragraph two.", [("t3", "q?", "two")])]),
        ]
    )
    write_json(root / "squad-v1.1-dev-en" / "dev-v1.1.json", en)
    es = squad_doc([("A", [("Parrafo.", [("x1", "q?", "P")])]), ("B", [("Uno.", [("t1", "q?", "U")])])])
    write_json(root / "squad-translated" / "squad-es-v1.1-dev_small.json", es)
    da = squad_doc([("B", [("En.", [("t1", "q?", "E"), ("t2", "q?", "E")])])])
    write_json(root / "squad-translated" / "squad-da-v1.1-dev_small.json", da)
    it = squad_doc(
        [("C", [("Due.", [("t3", "q?", "D"), ("d9", "q?", "D")])]), ("Z", [("Solo.", [("d1", "q", "S")])])]
    )
    write_json(root / "squad-translated" / "squad-it-test.json.gz", it, gz=True)
    xq = squad_doc([("A", [(" Shared  paragraph of the\nevaluation set. ", [("x1", "q?", "Shared")])])])
    for lang in XQUAD_SHA256:
        write_json(root / "xquad" / f"xquad.{lang}.json", xq)
    return root


def test_load_training_items_drops_eval_paragraphs_and_unverifiable_items(squad_root):
    report = JoinReport()
    items = load_training_items(data_dir=squad_root, report=report)
    by_id = {it.item_id: it.languages for it in items}
    # x1/x2 share the XQuAD paragraph (and x1's es translation); d1 has no English pair; d9 shares t3's
    # Italian paragraph but has no English pair itself either
    assert by_id == {"t1": ("da", "en", "es"), "t2": ("da", "en"), "t3": ("en", "it")}
    assert report.excluded_items == 2 and report.excluded_passages == {"en": 1, "es": 1}
    assert report.unverifiable_items == 2


def test_load_training_items_options(squad_root):
    everything = load_training_items(data_dir=squad_root, exclude=())
    assert {it.item_id for it in everything} == {"x1", "x2", "t1", "t2", "t3", "d9", "d1"}
    cross = load_training_items(data_dir=squad_root, min_languages=2)
    assert {it.item_id for it in cross} == {"t1", "t2", "t3"}
    only_en_es = load_training_items(data_dir=squad_root, languages=("en", "es"))
    assert {it.item_id: it.languages for it in only_en_es} == {
        "t1": ("en", "es"),
        "t2": ("en",),
        "t3": ("en",),
    }
    with pytest.raises(ValueError, match="no \\['fr'\\]"):
        load_training_items(data_dir=squad_root, languages=("en", "fr"))
    with pytest.raises(ValueError, match="anchor language 'en'"):
        load_training_items(data_dir=squad_root, languages=("es", "da"))


def test_missing_translation_file_says_where_it_looked(squad_root):
    (squad_root / "squad-translated" / "squad-da-v1.1-dev_small.json").unlink()
    with pytest.raises(DatasetNotFound, match=r"squad-translated/da.*looked in") as e:
        load_training_items(data_dir=squad_root)
    assert squad_root / "squad-translated" in e.value.searched
