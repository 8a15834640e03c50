"""Language bias: rank distance, own-language share of the top 10, Mono - Cross gap."""

from __future__ import annotations

import math

import pytest

from polyret.evaluation.language_bias import language_bias, own_language_share, rank_distance
from polyret.evaluation.lareqa import lareqa_metrics


def test_rank_distance_and_share_helpers():
    assert rank_distance([3, 1, 10]) == 9
    assert rank_distance([4]) is None
    assert own_language_share("en", ["en", "de", "en", "es"]) == 0.5
    assert math.isnan(own_language_share("en", []))


def test_bias_grows_with_language_weight(pools):
    index = pools.make({f"q{i}": ["de", "en", "es"] for i in range(4)})
    low = language_bias(lareqa_metrics(*pools.biased(index, 0.5), index))
    high = language_bias(lareqa_metrics(*pools.biased(index, 2.0), index))
    # lam = 0.5: the three translations of the answer are ranks 1-3 -> distance 2 for every query
    assert low["macro"]["rank_distance"] == 2.0
    # lam = 2: own-language candidates (4) come first, then the other two golds -> ranks 1, 5, 6
    assert high["per_query"]["rank_distance"]["en:q0"] == 5.0
    assert high["macro"]["own_language_top10"] == pytest.approx(4 / 10)  # 4 own of 12 in the top 10
    assert low["macro"]["own_language_top10"] < high["macro"]["own_language_top10"] + 1e-12
    assert high["macro"]["mono_minus_cross_AP"] == 0.0  # single-language pools cannot show the bias
    assert set(high["per_language"]) == {"de", "en", "es"}


def test_pool_share_reported_as_chance_level(pools):
    index = pools.make({"q1": ["de", "en"], "q2": ["de", "en"]})
    bias = language_bias(lareqa_metrics(*pools.biased(index, 1.0), index), cand_share={"de": 0.5, "en": 0.5})
    assert bias["per_language"]["en"]["pool_share"] == 0.5
