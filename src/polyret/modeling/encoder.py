"""BiEncoder: a shared-weight Hugging Face encoder with pooling, normalisation and prefixes.

Interface used by training and evaluation:

- ``BiEncoder(backbone, tokenizer, config)``: wrap any ``transformers`` encoder.
- ``tokenize(texts, side)``: prefixes and per-side max length applied; returns tensors.
- ``forward(features)``: (B, D) embeddings *with* gradients (training).
- ``encode(texts, side=...)``: (N, D) float32 numpy, no gradients (evaluation).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from polyret.modeling.pooling import POOLING_MODES, pool

Side = Literal["query", "passage"]
SIDES = ("query", "passage")


@dataclass(frozen=True)
class EncoderConfig:
    """How texts become vectors; saved beside the weights."""

    pooling: str = "mean"
    normalize: bool = True
    query_prefix: str = ""
    passage_prefix: str = ""
    max_query_length: int = 64
    max_passage_length: int = 256

    def __post_init__(self) -> None:
        if self.pooling not in POOLING_MODES:
            raise ValueError(f"unknown pooling {self.pooling!r}; expected one of {POOLING_MODES}")

    def to_dict(self) -> dict:
        return asdict(self)


def check_side(side: str) -> None:
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, not {side!r}")


class BiEncoder(nn.Module):
    """One encoder for queries and passages (shared weights)."""

    def __init__(self, backbone: nn.Module, tokenizer, config: EncoderConfig | None = None):
        super().__init__()
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.config = config or EncoderConfig()

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dim(self) -> int:
        return int(self.backbone.config.hidden_size)

    def prefix(self, side: Side) -> str:
        check_side(side)
        return self.config.query_prefix if side == "query" else self.config.passage_prefix

    def max_length(self, side: Side) -> int:
        check_side(side)
        return self.config.max_query_length if side == "query" else self.config.max_passage_length

    def tokenize(self, texts: list[str], side: Side) -> dict[str, torch.Tensor]:
        """Tokenize with the side's prefix and max length, padded to the longest text."""
        prefix = self.prefix(side)
        return self.tokenizer(
            [prefix + t for t in texts],
            padding=True,
            truncation=True,
            max_length=self.max_length(side),
            return_tensors="pt",
        )

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, T) token features -> (B, D) embeddings (L2-normalised when configured)."""
        features = {k: v.to(self.device) for k, v in features.items()}
        out = self.backbone(
            input_ids=features["input_ids"],
            attention_mask=features["attention_mask"],
            **({"token_type_ids": features["token_type_ids"]} if "token_type_ids" in features else {}),
        )
        emb = pool(out.last_hidden_state, features["attention_mask"], self.config.pooling)  # (B, D)
        if self.config.normalize:
            emb = nn.functional.normalize(emb, p=2, dim=-1)
        return emb

    @torch.inference_mode()
    def encode(self, texts: list[str], side: Side = "passage", batch_size: int = 32) -> np.ndarray:
        """Embed ``texts`` without gradients; returns (N, D) float32 in input order."""
        was_training = self.training
        self.eval()
        chunks = [self(self.tokenize(texts[i : i + batch_size], side)).float().cpu()
                  for i in range(0, len(texts), batch_size)]
        self.train(was_training)
        if not chunks:
            return np.zeros((0, self.dim), dtype=np.float32)
        return torch.cat(chunks).numpy()
