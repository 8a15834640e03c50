"""Parallel jsonl I/O, fingerprints, collator with hard negatives, mining and MT plumbing."""

from __future__ import annotations

import json

import pytest

from polyret.sampling.batch_samplers import Batch, PairRef
from polyret.training.data import (
    BatchCollator,
    fingerprint,
    read_hard_negatives,
    read_parallel_jsonl,
    split_items,
    write_parallel_jsonl,
)
from polyret.types import QAPair

from .conftest import make_items


def test_parallel_jsonl_round_trip_and_errors(tmp_path):
    items = make_items(20)
    path = tmp_path / "p.jsonl"
    write_parallel_jsonl(items, path)
    back = read_parallel_jsonl(path)
    assert [(i.item_id, i.pairs) for i in back] == [(i.item_id, i.pairs) for i in items]
    assert all(set(i.languages) == {"en"} for i in read_parallel_jsonl(path, languages=["en"]))
    path.write_text('{"item_id": "a", "lang": "en"}\n')
    with pytest.raises(ValueError, match=r"p.jsonl:1: missing field"):
        read_parallel_jsonl(path)
    path.write_text("\n{oops\n")
    with pytest.raises(ValueError, match=r"p.jsonl:2: malformed JSON"):
        read_parallel_jsonl(path)


def test_fingerprint_changes_with_texts_and_split():
    items = make_items(40)
    train, val = split_items(items, 0.25, seed=0)
    a = fingerprint({"s": train}, val)
    assert a == fingerprint({"s": train}, val)
    edited = [type(items[0])(items[0].item_id, {**items[0].pairs, "en": items[0].pairs["en"]._replace(
        question="changed")}), *items[1:]]
    train2, val2 = split_items(edited, 0.25, seed=0)
    assert fingerprint({"s": train2}, val2)["sha256"] != a["sha256"]
    assert fingerprint({"s": train}, val[:-1])["sha256"] != a["sha256"]


def test_collator_texts_and_hard_negatives(tmp_path):
    items = make_items(10)
    negs = {(it.item_id, "en"): [f"neg {it.item_id} {k}" for k in range(2)] for it in items}
    col = BatchCollator(items, negs, num_hard_negatives=3)
    batch = Batch("mono", (PairRef("q0", "en", "en"), PairRef("q1", "en", "en")))
    t = col(batch)
    assert t.queries == [items[0].pairs["en"].question, items[1].pairs["en"].question]
    assert t.passages[1] == items[1].pairs["en"].passage
    assert t.negatives == ["neg q0 0", "neg q0 1", "neg q0 0", "neg q1 0", "neg q1 1", "neg q1 0"]
    cross = col(Batch("cross", (PairRef("q0", "en", "es"),)))  # nothing mined for (q0, es): fallback
    assert cross.fallback_negatives == 1 and len(cross.negatives) == 3
    assert items[0].pairs["es"].passage not in cross.negatives
    assert all(n.startswith("es ") for n in cross.negatives)
    assert col(Batch("cross", (PairRef("q0", "en", "es"),))).negatives == cross.negatives  # seeded


def test_mined_file_with_empty_rows_trains_through_the_fallback(tmp_path):
    """Mining's own output (rows with no negatives) feeds the collator without a crash."""
    from polyret.training.mining import mine_hard_negatives

    items = make_items(6, per_paragraph=1, full_share=1.0)
    solo = [items[0]] + [type(it)(it.item_id, {k: v for k, v in it.pairs.items() if k != "da"})
                         for it in items[1:]]
    out = tmp_path / "n.jsonl"
    mine_hard_negatives(solo, out, languages=["en", "da"], num_negatives=2, depth=10)
    col = BatchCollator(items, read_hard_negatives(out), num_hard_negatives=2)
    texts = col(Batch("cross", (PairRef("q0", "en", "da"), PairRef("q1", "en", "en"))))
    assert texts.fallback_negatives == 1 and len(texts.negatives) == 4


def test_mine_bm25_excludes_own_paragraph(tmp_path):
    from polyret.training.mining import mine_hard_negatives

    items = make_items(30, per_paragraph=1)
    out = tmp_path / "negs.jsonl"
    stats = mine_hard_negatives(items, out, languages=["en", "es"], num_negatives=3, depth=20)
    assert stats["en"]["queries"] == 30
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    by_id = {it.item_id: it for it in items}
    for r in rows:
        own = by_id[r["item"]].pairs[r["lang"]]
        assert own.passage_id not in r["negative_ids"] and own.passage not in r["negatives"]
        assert all(n.startswith(r["lang"] + " ") for n in r["negatives"])  # same-language corpus
    assert sum(len(r["negatives"]) == 3 for r in rows) > 0.9 * len(rows)
    table = read_hard_negatives(out)
    assert len(table) == len(rows)


def test_mine_dense_with_tiny_model(tmp_path, tiny_model):
    from polyret.training.mining import mine_hard_negatives

    items = make_items(12, per_paragraph=1)
    out = tmp_path / "dense.jsonl"
    mine_hard_negatives(items, out, languages=["en"], model=tiny_model, num_negatives=4, depth=6)
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 12 and all(r["method"] == "dense" and len(r["negatives"]) == 4 for r in rows)


def _tiny_marian(words):
    import torch
    from transformers import MarianConfig, MarianMTModel

    from polyret.modeling.tiny import tiny_tokenizer

    tok = tiny_tokenizer(words)
    cfg = MarianConfig(vocab_size=len(tok), d_model=16, encoder_layers=1, decoder_layers=1,
                       encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                       decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=tok.pad_token_id,
                       eos_token_id=tok.sep_token_id, decoder_start_token_id=tok.pad_token_id,
                       forced_eos_token_id=tok.sep_token_id)
    torch.manual_seed(0)
    return MarianMTModel(cfg), tok


def test_translate_qa_pairs_batched_and_cached(tmp_path, monkeypatch):
    from polyret.training import translate

    monkeypatch.setenv("POLYRET_CACHE_DIR", str(tmp_path / "cache"))
    pairs = [QAPair(f"q{i}", "en", f"what is the river {i}", f"the river {i} is blue", f"en:doc:{i // 2}",
                    "doc") for i in range(5)]
    words = "what is the river blue green city 0 1 2 3 4".split()
    mt, tok = _tiny_marian(words)
    calls = []
    orig = mt.generate
    monkeypatch.setattr(mt, "generate", lambda **kw: calls.append(kw["input_ids"].shape[0]) or orig(**kw))
    items = translate.translate_qa_pairs(pairs, {"es": (mt, tok)}, batch_size=2, max_new_tokens=6,
                                         cache_name="tiny-marian", progress=False)
    assert [it.item_id for it in items] == [p.item_id for p in pairs]
    es = items[0].pairs["es"]
    assert es.lang == "es" and es.passage_id == "es:doc:0" and items[0].pairs["en"] == pairs[0]
    assert calls and max(calls) <= 2 and sum(calls) == 10  # 5 questions + 5 passages, batched by 2
    cache_file = tmp_path / "cache" / "translations" / "tiny-marian" / "en-es.jsonl"
    assert len(cache_file.read_text().splitlines()) == 10

    def boom(**kw):
        raise AssertionError("cached texts must not be translated again")

    monkeypatch.setattr(mt, "generate", boom)
    again = translate.translate_qa_pairs(pairs, {"es": (mt, tok)}, cache_name="tiny-marian", progress=False)
    assert [it.pairs["es"] for it in again] == [it.pairs["es"] for it in items]
    out = tmp_path / "es.jsonl"
    translate.write_translated(items, out)
    assert {i.languages for i in read_parallel_jsonl(out)} == {("en", "es")}


def test_mining_counts_questions_without_negatives(tmp_path):
    """A language with one passage has nothing to offer: rows are written, empty, and counted."""
    from polyret.training.mining import mine_hard_negatives

    items = make_items(6, per_paragraph=1, full_share=1.0)
    solo = [items[0]] + [type(it)(it.item_id, {k: v for k, v in it.pairs.items() if k != "da"})
                         for it in items[1:]]
    out = tmp_path / "n.jsonl"
    stats = mine_hard_negatives(solo, out, languages=["en", "da"], num_negatives=3, depth=10)
    assert stats["da"] == {"queries": 1, "passages": 1, "short": 1, "empty": 1}
    assert stats["en"]["empty"] == 0 and stats["en"]["short"] == 0
    assert read_hard_negatives(out)[("q0", "da")] == []


def test_mining_uses_the_retrieval_path_dense_equals_exact_search(tmp_path, tiny_model):
    """Dense mining = exact search over document_text, own paragraph skipped."""
    import numpy as np

    from polyret.retrieval.search import exact_search
    from polyret.training.mining import mine_hard_negatives

    items = make_items(10, per_paragraph=1)
    out = tmp_path / "d.jsonl"
    mine_hard_negatives(items, out, languages=["en"], model=tiny_model, num_negatives=2, depth=5)
    pairs = [it.pairs["en"] for it in items]
    d = tiny_model.encode([p.passage for p in pairs], side="passage")
    q = tiny_model.encode([p.question for p in pairs], side="query")
    run = exact_search(q, d, [p.item_id for p in pairs], [p.passage_id for p in pairs], top_k=5)
    rows = {r["item"]: r for r in map(json.loads, out.read_text().splitlines())}
    for p in pairs:
        expect = [x for x in run[p.item_id] if x != p.passage_id][:2]
        assert rows[p.item_id]["negative_ids"] == expect
    assert np.isfinite(d).all()


def test_cli_mine_writes_negatives_and_summary(tmp_path, capsys):
    from polyret.cli import main
    from polyret.training.data import write_parallel_jsonl

    items = make_items(20, per_paragraph=1)
    write_parallel_jsonl(items, tmp_path / "pairs.jsonl")
    out = tmp_path / "negs.jsonl"
    assert main(["mine", "--bm25", "--train", str(tmp_path / "pairs.jsonl"), "--languages", "en", "es",
                 "--num-negatives", "2", "--output", str(out)]) == 0
    table = read_hard_negatives(out)
    assert {lang for _, lang in table} == {"en", "es"} and len(table) == sum(
        ("en" in it.pairs) + ("es" in it.pairs) for it in items)
    info = json.loads((tmp_path / "negs.jsonl.json").read_text())
    assert info["method"] == "bm25" and info["per_language"]["en"]["queries"] == 20
    assert "en: 20 questions" in capsys.readouterr().out
    assert main(["mine", "--train", str(tmp_path / "pairs.jsonl"), "--output", str(out)]) == 2


@pytest.mark.slow
def test_mining_the_real_join_counts_the_items_without_negatives(tmp_path):
    """The real squad-parallel join (BM25, en + es): every question gets a row; the ones BM25 finds
    nothing for are counted, not dropped, and the file reads back for training."""
    from polyret.data.parallel import load_training_items
    from polyret.training.mining import mine_hard_negatives

    items = load_training_items(languages=("en", "es"), exclude=("xquad",))
    out = tmp_path / "real.jsonl"
    stats = mine_hard_negatives(items, out, languages=["en", "es"], num_negatives=4, depth=20)
    table = read_hard_negatives(out)
    for lang in ("en", "es"):
        n = sum(lang in it.pairs for it in items)
        assert stats[lang]["queries"] == n == sum(1 for _, x in table if x == lang)
        assert stats[lang]["empty"] == sum(1 for (_, x), v in table.items() if x == lang and not v)
