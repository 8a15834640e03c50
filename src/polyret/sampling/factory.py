"""Build a batch sampler from a :class:`~polyret.config.SamplingConfig`, and summarise batches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from polyret.config import SamplingConfig
from polyret.sampling.batch_samplers import Batch, MultiSourceBatchSampler, ParallelBatchSampler
from polyret.sampling.schedules import AlphaSchedule, PerOptimizerStep
from polyret.types import ParallelItem


def alpha_schedule(cfg: SamplingConfig) -> AlphaSchedule:
    return AlphaSchedule(kind=cfg.alpha_schedule, start=cfg.alpha, end=cfg.alpha_end, steps=cfg.alpha_steps,
                         milestones=tuple(cfg.alpha_milestones), values=tuple(cfg.alpha_values))


def build_sampler(sets: Mapping[str, Sequence[ParallelItem]], cfg: SamplingConfig,
                  languages: Sequence[str] | None = None, seed: int | None = None,
                  batches_per_epoch: int | None = None, grad_accum: int = 1,
                  ) -> ParallelBatchSampler | MultiSourceBatchSampler:
    """One sampler per training set; several sets are mixed batch by batch.

    ``grad_accum``: batches per optimizer step; the alpha schedule counts optimizer steps, so
    batch ``i`` sees ``alpha(i // grad_accum)``.
    """
    seed = cfg.seed if seed is None else seed
    alpha = PerOptimizerStep(alpha_schedule(cfg), grad_accum)
    samplers = [
        ParallelBatchSampler(items, strategy=cfg.strategy, batch_size=cfg.batch_size, languages=languages,
                             seed=seed, alpha=alpha, mono_languages=cfg.mono_languages,
                             cross_pairs=cfg.cross_pairs, cross_batch_weights=cfg.cross_batch_weights,
                             distinct_passages=cfg.distinct_passages, batches_per_epoch=batches_per_epoch,
                             source=name if len(sets) > 1 else "")
        for name, items in sets.items()
    ]
    if len(samplers) == 1:
        return samplers[0]
    weights = cfg.dataset_weights if cfg.dataset_mixing == "weights" else None
    if cfg.dataset_mixing == "weights" and not weights:
        raise ValueError("sampling.dataset_mixing=weights needs sampling.dataset_weights")
    return MultiSourceBatchSampler(samplers, weights=weights, seed=seed)


def summarize(batches: Iterable[Batch]) -> dict:
    """Share of each batch kind, language and language-pair histograms, duplicate checks."""
    kinds: Counter[str] = Counter()
    q_langs: Counter[str] = Counter()
    p_langs: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    mono_langs: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    n = repeated = 0
    for b in batches:
        n += 1
        kinds[b.kind] += 1
        sources[b.source or "-"] += 1
        repeated += len(b.pairs) != len({p.item for p in b.pairs})
        if b.kind == "mono":
            mono_langs[b.pairs[0].q_lang] += 1
        for p in b.pairs:
            q_langs[p.q_lang] += 1
            p_langs[p.p_lang] += 1
            pairs[f"{p.q_lang}-{p.p_lang}"] += 1
    return {
        "batches": n,
        "kinds": dict(sorted(kinds.items())),
        "mono_share": kinds["mono"] / n if n else 0.0,
        "mono_batch_languages": dict(sorted(mono_langs.items())),
        "query_languages": dict(sorted(q_langs.items())),
        "passage_languages": dict(sorted(p_langs.items())),
        "language_pairs": dict(sorted(pairs.items())),
        "sources": dict(sorted(sources.items())),
        "batches_with_repeated_item": repeated,
    }
