"""``EvalConfig``: the resolved settings of one evaluation (saved in its result).

The lengths and the precision are evaluation settings, not the model's: every model compared is
encoded with the same ``max_query_length`` / ``max_passage_length`` (``None`` keeps the model's
own, which differs between a zero-shot and a fine-tuned model, so ``compare`` refuses such pairs)
and the same ``precision`` (a family may set its own default lengths: BIRCO 512 both sides). What
was actually used is recorded in ``EvalResult.model["settings"]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from polyret.errors import ConfigError
from polyret.evaluation.lareqa import CANDIDATE_TEXTS
from polyret.hardware import PRECISIONS
from polyret.retrieval.retriever import BM25

__all__ = ["BM25", "EvalConfig"]


@dataclass
class EvalConfig:
    """Resolved evaluation settings (saved in the result)."""

    task: str
    data_dir: str | None = None
    split: str = "test"  # BEIR qrels split; MIRACL uses "dev"
    batch_size: int = 64
    max_queries: int | None = None  # subsample (seeded); None = all
    seed: int = 0
    candidate_text: str = "sentence"  # LAReQA: sentence | sentence+context
    languages: list[str] | None = None  # LAReQA: restrict the pool and queries to these languages
    top_k: int = 100
    drop_self_hits: bool = True  # BEIR: remove a query's own id from its ranking (ArguAna)
    max_query_length: int | None = None  # query truncation in tokens for this evaluation (None: the model's)
    max_passage_length: int | None = None  # passage truncation in tokens (None: the model's)
    precision: str = "fp32"  # encoding precision: fp32 | bf16 | auto (polyret.hardware.resolve_precision)
    corpus: str | None = None  # MIRACL corpus (jsonl / folder) or BRIGHT documents folder
    subsets: bool = True  # score the complex-query subsets (BEIR, BRIGHT)
    cache: bool = True  # use the embedding cache

    def __post_init__(self) -> None:
        # the task name is looked up by the evaluation (polyret.evaluation.registry.parse_task)
        if self.candidate_text not in CANDIDATE_TEXTS:
            raise ConfigError(f"candidate_text={self.candidate_text!r}; expected one of {CANDIDATE_TEXTS}")
        if self.max_queries is not None and self.max_queries < 1:
            raise ConfigError(f"max_queries must be >= 1, not {self.max_queries}")
        if self.top_k < 1:
            raise ConfigError(f"top_k must be >= 1, not {self.top_k}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, not {self.batch_size}")
        for name in ("max_query_length", "max_passage_length"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 2):
                raise ConfigError(f"{name} must be an integer >= 2 (tokens), not {value!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision={self.precision!r}; expected one of {', '.join(PRECISIONS)}")
        if self.languages is not None and not self.languages:
            raise ConfigError("languages is an empty list: name at least one language or leave it unset")
