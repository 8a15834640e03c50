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
    with pytest.raises(KeyError, match="no hard negatives"):
        col(Batch("cross", (PairRef("q0", "en", "es"),)))


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

    from polyret.testing.tiny import tiny_tokenizer

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
