"""Model identity: a fingerprint of a model folder's saved weights, and the rule that one cell holds
the results of one set of weights.

The fingerprint is the sha256 of every saved tensor, in name order: its name, dtype, shape and raw
bytes. It ignores the file's header layout and metadata, so the same weights saved twice (or once as
``model.safetensors`` and once as ``pytorch_model.bin``) have the same fingerprint, while a single
changed bit does not. bf16 training is bit-identical only on the same kind of CPU, so the fingerprint
is how a report tells "the same model" from "the same recipe".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from polyret.errors import UserError
from polyret.experiment.layout import RESULT_SUFFIX, ExperimentLayout, read_result
from polyret.runner.cells import BM25_REFERENCE, CellPlan

FINGERPRINT_PREFIX = "sha256:"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def _tensors(folder: Path) -> Iterator[tuple[str, object]]:
    """``(name, tensor)`` of the folder's weight file, in name order."""
    safetensors_file, bin_file = (folder / name for name in WEIGHT_FILES)
    if safetensors_file.is_file():
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(safetensors_file), framework="pt") as handle:
                for name in sorted(handle.keys()):
                    yield name, handle.get_tensor(name)
        except (SafetensorError, OSError) as exc:
            raise UserError(f"{safetensors_file}: cannot be read ({exc})") from None
        return
    if bin_file.is_file():
        import torch

        try:
            state = torch.load(bin_file, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable pickle is the same user error
            raise UserError(f"{bin_file}: cannot be read ({type(exc).__name__})") from None
        for name in sorted(state):
            yield name, state[name]
        return
    raise UserError(f"{folder}: no model weights ({' or '.join(WEIGHT_FILES)})")


def fingerprint_tensors(named: Iterable[tuple[str, object]]) -> str:
    """The fingerprint of ``(name, tensor)`` pairs given in name order."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in named:
        t = tensor.detach().contiguous().cpu()
        digest.update(f"{name}\0{str(t.dtype).removeprefix('torch.')}\0{tuple(t.shape)}\0".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return FINGERPRINT_PREFIX + digest.hexdigest()


def weights_fingerprint(folder: str | Path) -> str:
    """The fingerprint of the weights saved in ``folder`` (a model folder or its backbone)."""
    return fingerprint_tensors(_tensors(Path(folder)))


def check_same_weights(where: str, recorded: str | None, found: str | None) -> None:
    """Refuse to put results of two different sets of weights under one cell."""
    if recorded and found and recorded != found:
        raise UserError(
            f"{where}: its results came from weights {recorded[:19]}..., but the model now has "
            f"{found[:19]}... (retrained, or trained on another kind of CPU); evaluate into a new "
            "--out, or delete the cell's results to evaluate every suite again"
        )


def cell_weights(layout: ExperimentLayout, base_model: str, cell: CellPlan,
                 recorded: str | None) -> str | None:
    """The fingerprint of the weights a cell is about to evaluate (None for BM25): the trained cell's
    saved weights, or the reference's model folder; refused when the cell's record (``recorded``) or one
    of its results on disk came from other weights."""
    if cell.arm == BM25_REFERENCE:
        return None
    if cell.kind == "reference":
        from polyret.modeling.registry import resolve_model_path

        found = weights_fingerprint(resolve_model_path(base_model))
    else:
        found = weights_fingerprint(layout.train_dir(cell.cell_id))
    check_same_weights(str(layout.cell_dir(cell.cell_id)), recorded, found)
    for path in sorted((layout.cell_dir(cell.cell_id) / "results").glob(f"*{RESULT_SUFFIX}")):
        try:
            stored = read_result(path).experiment.get("weights")
        except UserError:  # damaged: evaluated again
            continue
        check_same_weights(str(path), stored, found)
    return found
