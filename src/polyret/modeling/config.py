"""How texts become vectors: :class:`EncoderConfig` (saved beside the weights) and the two sides."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from polyret.modeling.pooling import POOLING_MODES

Side = Literal["query", "passage"]
SIDES = ("query", "passage")


def check_side(side: str) -> None:
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, not {side!r}")


@dataclass(frozen=True)
class EncoderConfig:
    """Pooling, normalisation, per-side prefixes and per-side max token lengths."""

    pooling: str = "mean"
    normalize: bool = True
    query_prefix: str = ""
    passage_prefix: str = ""
    max_query_length: int = 64
    max_passage_length: int = 256

    def __post_init__(self) -> None:
        if self.pooling not in POOLING_MODES:
            raise ValueError(f"unknown pooling {self.pooling!r}; expected one of {POOLING_MODES}")
        for name in ("max_query_length", "max_passage_length"):
            if int(getattr(self, name)) < 2:
                raise ValueError(f"{name} must be >= 2, not {getattr(self, name)}")

    def to_dict(self) -> dict:
        return asdict(self)

    def prefix(self, side: str) -> str:
        check_side(side)
        return self.query_prefix if side == "query" else self.passage_prefix

    def max_length(self, side: str) -> int:
        check_side(side)
        return self.max_query_length if side == "query" else self.max_passage_length
