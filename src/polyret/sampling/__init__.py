"""Batch samplers for hybrid (mono + cross-lingual) training."""

from polyret.sampling.batch_samplers import (
    Batch,
    MultiSourceBatchSampler,
    PairRef,
    ParallelBatchSampler,
    paragraph_groups,
)
from polyret.sampling.schedules import AlphaSchedule

__all__ = ["AlphaSchedule", "Batch", "MultiSourceBatchSampler", "PairRef", "ParallelBatchSampler",
           "paragraph_groups"]
