"""The Precompiled charsmap builder and the unigram tokenizer built from raw pieces."""

from __future__ import annotations

import struct

import pytest

from polyret.modeling.spm import build_precompiled_charsmap, build_unigram_tokenizer

MAPPING = {"Ａ": "A", "ﬁ": "fi", "\t": " ", "\x01": "", "①": "1", "Ⅻ": "XII", "\u3000": " "}


def _normalizer(mapping):
    from tokenizers import normalizers

    return normalizers.Precompiled(build_precompiled_charsmap(mapping))


def test_charsmap_applies_every_mapping_and_nothing_else():
    norm = _normalizer(MAPPING)
    for key, value in MAPPING.items():
        assert norm.normalize_str(f"x{key}y") == f"x{value}y", repr(key)
    untouched = "plain text, ümlaut, 東京, Москва, 😀"
    assert norm.normalize_str(untouched) == untouched


def test_charsmap_layout_is_sentencepiece_format():
    blob = build_precompiled_charsmap({"a": "b"})
    (trie_bytes,) = struct.unpack_from("<I", blob)
    assert trie_bytes % 4 == 0 and blob[4 + trie_bytes :] == b"b\0"


def test_charsmap_with_many_keys():
    mapping = {chr(0xFF01 + i): chr(0x21 + i) for i in range(94)}  # fullwidth ASCII
    mapping.update({chr(0x2460 + i): str(i + 1) for i in range(9)})
    norm = _normalizer(mapping)
    assert norm.normalize_str("ＨＥＬＬＯ　①②") == "HELLO　12"


def test_empty_key_is_rejected():
    with pytest.raises(ValueError, match="empty key"):
        build_precompiled_charsmap({"": "x"})


def test_unigram_tokenizer_from_pieces():
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁hello", "▁world", "▁", *"helowrd", "<mask>"]
    scores = [0, 0, 0, 0, -1, -1, -2, -3, -3, -3, -3, -3, -3, -3, 0]
    tok = build_unigram_tokenizer(pieces, scores, {"Ｈ": "h"}, unk_id=3)
    enc = tok("hello  world Ｈello")["input_ids"]
    assert tok.convert_ids_to_tokens(enc) == ["<s>", "▁hello", "▁world", "▁hello", "</s>"]
    assert tok.pad_token_id == 1 and tok.convert_ids_to_tokens(tok("hello z")["input_ids"])[-2] == "<unk>"
