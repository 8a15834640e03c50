"""Batch samplers for hybrid (mono + cross-lingual) training."""

from polyret.sampling.batch_samplers import (
    Batch,
    MultiSourceBatchSampler,
    PairRef,
    ParallelBatchSampler,
    batch_stream,
    paragraph_groups,
)
from polyret.sampling.schedules import AlphaSchedule, PerOptimizerStep

__all__ = ["AlphaSchedule", "Batch", "MultiSourceBatchSampler", "PairRef", "ParallelBatchSampler",
           "PerOptimizerStep", "batch_stream", "paragraph_groups"]
