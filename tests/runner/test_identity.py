"""Model identity: the weights fingerprint follows the tensors, not the file."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from polyret.errors import UserError
from polyret.runner.identity import check_same_weights, weights_fingerprint


def _weights() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"encoder.w": torch.randn(4, 3, generator=g), "a.bias": torch.randn(3, generator=g).bfloat16()}


def test_same_tensors_same_fingerprint_in_either_format(tmp_path):
    (tmp_path / "st").mkdir()
    (tmp_path / "bin").mkdir()
    save_file(_weights(), str(tmp_path / "st" / "model.safetensors"), metadata={"format": "pt"})
    torch.save(dict(reversed(list(_weights().items()))), tmp_path / "bin" / "pytorch_model.bin")
    fp = weights_fingerprint(tmp_path / "st")
    assert fp.startswith("sha256:") and len(fp) == 7 + 64
    assert weights_fingerprint(tmp_path / "bin") == fp


@pytest.mark.parametrize("change", ["bit", "dtype", "shape", "name"])
def test_any_change_to_the_weights_changes_the_fingerprint(tmp_path, change):
    save_file(_weights(), str(tmp_path / "model.safetensors"))
    before = weights_fingerprint(tmp_path)
    w = _weights()
    if change == "bit":
        raw = w["encoder.w"].view(torch.int32)
        raw[2, 1] ^= 1  # the lowest mantissa bit of one float
    elif change == "dtype":
        w["encoder.w"] = w["encoder.w"].double()
    elif change == "shape":
        w["encoder.w"] = w["encoder.w"].reshape(3, 4).contiguous()
    else:
        w["encoder.W"] = w.pop("encoder.w")
    save_file(w, str(tmp_path / "model.safetensors"))
    assert weights_fingerprint(tmp_path) != before


def test_a_folder_without_weights_or_with_damaged_weights_is_one_line_error(tmp_path):
    with pytest.raises(UserError, match="no model weights"):
        weights_fingerprint(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage")
    with pytest.raises(UserError, match="model.safetensors: cannot be read"):
        weights_fingerprint(tmp_path)


def test_two_fingerprints_under_one_cell_are_refused():
    check_same_weights("cell x", None, "sha256:" + "a" * 64)  # nothing recorded yet: fine
    check_same_weights("cell x", "sha256:" + "a" * 64, "sha256:" + "a" * 64)
    with pytest.raises(UserError, match="cell x: its results came from weights sha256:aaaa"):
        check_same_weights("cell x", "sha256:" + "a" * 64, "sha256:" + "b" * 64)
