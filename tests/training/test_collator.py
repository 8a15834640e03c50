"""BatchCollator: mined hard negatives, and the documented fallback for items that have none."""

from __future__ import annotations

from polyret.config import SamplingConfig
from polyret.sampling.factory import build_sampler
from polyret.training.data import BatchCollator

from .conftest import make_items


def _batches(items, n=6, strategy="hybrid"):
    sampler = build_sampler({"x": items}, SamplingConfig(strategy=strategy, batch_size=8, seed=3))
    it = iter(sampler)
    return [next(it) for _ in range(n)]


def _check_fallback(items, batches, mined, h=3):
    """Every pair gets h negatives: its mined ones, else same-language passages of other paragraphs."""
    by_id = {it.item_id: it for it in items}
    collator = BatchCollator(items, mined, num_hard_negatives=h, seed=5)
    fallback_pairs = 0
    for batch in batches:
        texts = collator(batch)
        assert len(texts.negatives) == h * len(batch.pairs)
        expected = 0
        for k, ref in enumerate(batch.pairs):
            negs = texts.negatives[k * h:(k + 1) * h]
            pool = mined.get((ref.item, ref.p_lang))
            if pool:
                assert negs == [pool[i % len(pool)] for i in range(h)]
                continue
            expected += 1
            item = by_id[ref.item]
            own = {p.passage for p in item.pairs.values()}
            lang_passages = {it.pairs[ref.p_lang].passage for it in items if ref.p_lang in it.pairs}
            assert len(set(negs)) == h and not set(negs) & own and set(negs) <= lang_passages
            assert collator(batch).negatives[k * h:(k + 1) * h] == negs  # the same every time (seeded)
        assert texts.fallback_negatives == expected
        fallback_pairs += expected
    return fallback_pairs


def test_fallback_negatives_for_items_without_mined_ones():
    items = make_items(60, seed=2)
    batches = _batches(items)
    mined = {(it.item_id, lang): [f"mined {it.item_id} {lang} {j}" for j in range(2)]
             for it in items[::2] for lang in it.pairs}
    assert _check_fallback(items, batches, mined) > 0
    assert _check_fallback(items, batches, {}) == sum(len(b.pairs) for b in batches)  # none mined at all


def test_fallback_on_the_real_training_data(shared_data):
    from polyret.config import DataConfig
    from polyret.training.data import load_training_sets, subsample

    items = subsample(load_training_sets(DataConfig(data_dir=str(shared_data)))["squad-parallel"], 400, 0)
    batches = _batches(items, n=4, strategy="cross")
    mined = {(it.item_id, lang): [f"mined {j}" for j in range(3)] for it in items[32:] for lang in it.pairs}
    assert _check_fallback(items, batches, mined) >= 0
    assert _check_fallback(items, batches, {}) == 4 * 8
