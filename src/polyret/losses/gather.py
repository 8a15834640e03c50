"""Cross-process helpers the global-batch loss needs (torchrun / accelerate launch)."""

from __future__ import annotations

import torch
import torch.distributed as dist


def rank_and_world() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) without an initialised process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """(b, D) per process -> (world * b, D) in rank order, differentiable.

    ``torch.distributed.nn.functional.all_gather``: its backward sums the gradients that every
    process computed for a slot and hands the sum to the slot's source process.
    Needs the same ``b`` on every process.
    """
    _, world = rank_and_world()
    if world == 1:
        return x
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x.contiguous()), dim=0)
