"""Pooling of token states into one vector per text (pure functions)."""

from __future__ import annotations

import torch

POOLING_MODES = ("mean", "cls")


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, mode: str = "mean") -> torch.Tensor:
    """Pool token states.

    Args:
        hidden: (B, T, H) last hidden states.
        attention_mask: (B, T) 1 for real tokens, 0 for padding.
        mode: ``mean`` (average over real tokens) or ``cls`` (first token).

    Returns:
        (B, H) pooled vectors.
    """
    if mode == "cls":
        return hidden[:, 0]
    if mode == "mean":
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        summed = (hidden * mask).sum(dim=1)  # (B, H)
        counts = mask.sum(dim=1).clamp(min=1e-9)  # (B, 1)
        return summed / counts
    raise ValueError(f"unknown pooling mode {mode!r}; expected one of {POOLING_MODES}")
