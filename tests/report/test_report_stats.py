"""The report's statistics wording and descriptive helpers on hand-computed data."""

from __future__ import annotations

import math

import pytest

from polyret.report.stats import mean_ranks, mean_std, method_text, subset_mean, verdict
from polyret.report.tables import interval, number
from polyret.stats.difference import Difference, correct


def _row(p: float, comparison: str = "a - b", metric: str = "nDCG@10", diff: float = 0.1) -> Difference:
    return Difference(comparison, "beir/x", "all", metric, n=10, seeds_a=3, seeds_b=3, diff=diff, p=p,
                      ci_low=diff - 0.05, ci_high=diff + 0.05)


def test_correct_separates_the_preregistered_family():
    rows = [_row(0.01), _row(0.02), _row(0.01, "a - c"), _row(0.02, metric="R@100")]
    rows[0].family = rows[1].family = "primary"
    correct(rows)
    assert [r.p_holm for r in rows] == pytest.approx([0.02, 0.02, 0.01, 0.02])


def test_verdict_never_stronger_than_the_numbers():
    rows = [_row(0.2), _row(0.5)]
    correct(rows)
    text = verdict(rows, "hybrid", "cross", "nDCG@10", 0.05)
    assert "inconclusive on all 2" in text and "no equivalence margin was pre-registered" in text
    assert "seed-aware" in text
    better, worse = _row(0.001), _row(0.002, diff=-0.05)
    correct([better, worse])
    text = verdict([better, worse], "hybrid", "cross", "nDCG@10", 0.05)
    assert "hybrid scores higher than cross on 1 of 2" in text and "scores lower than cross on 1 of 2" in text
    assert verdict([Difference("a - b", "t", "all", "m", n=0)], "a", "b", "m", 0.05).startswith("No test")


def test_numbers_never_print_negative_zero():
    assert number(-0.00001, 4, signed=True) == "0.0000"
    assert number(-0.00001, 4) == "0.0000"
    assert number(0.01234, 4, signed=True) == "+0.0123" and number(-0.01234, 4, signed=True) == "-0.0123"
    assert interval(-0.00004, 0.0123) == "[0.0000, +0.0123]"
    assert number(math.nan) == "missing" and interval(math.nan, 1.0) == "missing"


def test_method_text_states_the_model_and_the_margin():
    text = method_text("nDCG@10", 12, 10_000, 0.01, pooled=True)
    assert "Satterthwaite" in text and "never paired by number" in text and "+-0.01" in text
    assert "pooled with equal weights" in text and "m = 12" in text
    assert "inconclusive" in method_text("nDCG@10", 12, 10_000, None, pooled=False)


def test_descriptive_helpers():
    assert mean_std([0.1, None, 0.3]) == pytest.approx((0.2, math.sqrt(0.02), 2))
    assert subset_mean({"a": 1.0, "b": 0.0}, ["a", "zz"]) == 1.0 and subset_mean({}, None) is None


def test_mean_ranks_by_hand_with_ties_as_shown_and_missing_values():
    means = [[0.563, 0.4712, 0.30],   # ranks 2, 1.5 (ties 0.471 as shown), 1
             [0.564, 0.4708, 0.20],   # ranks 1, 1.5, 3
             [0.539, 0.461, 0.25]]    # ranks 3, 3, 2
    assert mean_ranks(means) == pytest.approx([4.5 / 3, 5.5 / 3, 8 / 3])
    assert mean_ranks(means, digits=4)[:2] == pytest.approx([4 / 3, 6 / 3])  # the tie is broken
    with_gap = mean_ranks([[0.5, math.nan], [0.4, 0.9], [0.3, 0.8]])
    assert math.isnan(with_gap[0]) and with_gap[1:] == pytest.approx([1.5, 2.5])


def test_method_text_says_when_there_is_one_run_per_arm():
    assert method_text("nDCG@10", 12, 100, None, False, seed_aware=False).startswith("With one run per arm")
    assert not method_text("nDCG@10", 12, 100, None, False).startswith("With one run per arm")
