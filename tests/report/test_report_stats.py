"""The report's statistics on hand-computed data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from polyret.evaluation.significance import randomization_test
from polyret.report.stats import (
    DiffRow,
    apply_holm,
    common_queries,
    correct,
    mean_ranks,
    paired_difference,
    seed_average,
    seed_differences,
    verdict,
)


def test_seeds_are_averaged_before_pairing():
    # a: two seeds; query q3 is missing from seed 2 and so leaves the comparison
    a = [{"q1": 1.0, "q2": 0.0, "q3": 1.0}, {"q1": 0.0, "q2": 0.0}]
    b = [{"q1": 0.0, "q2": 0.5, "q3": 0.0}, {"q1": 0.0, "q2": 0.5, "q3": 0.0}]
    assert common_queries([*a, *b]) == ["q1", "q2"]
    assert seed_average(a, ["q1", "q2"]).tolist() == [0.5, 0.0]
    row = paired_difference(a, b, permutations=1000, bootstrap=200)
    assert row.n == 2
    assert row.mean_a == pytest.approx(0.25) and row.mean_b == pytest.approx(0.25)
    assert row.diff == pytest.approx(0.0)  # (0.5 - 0) and (0 - 0.5) per query
    # spread over seeds: seed 1 diff = mean(1-0, 0-0.5) = 0.25, seed 2 = mean(0, -0.5) = -0.25
    assert row.seed_diffs == pytest.approx((0.25, -0.25))
    assert row.seed_mean == pytest.approx(0.0) and row.seed_std == pytest.approx(math.sqrt(0.125))
    # the test runs on the seed-averaged per-query differences (exact for n = 2)
    assert row.p == randomization_test([0.5, 0.0], [0.0, 0.5], n_resamples=1000)


def test_single_run_reference_pairs_with_every_seed():
    a = [{"q": 1.0}, {"q": 0.5}, {"q": 0.0}]
    assert seed_differences(a, [{"q": 0.25}], ["q"]) == pytest.approx([0.75, 0.25, -0.25])
    assert seed_differences(a[:2], a[1:], ["q"]) == pytest.approx([0.5, 0.5])


def test_subset_restricts_to_registered_ids_and_notes_unscored_ones():
    a = [{f"q{i}": float(i % 2) for i in range(10)}]
    b = [{f"q{i}": 0.0 for i in range(10)}]
    row = paired_difference(a, b, ids=["q1", "q3", "q4", "q99"], permutations=500, bootstrap=200)
    assert row.n == 3
    assert row.diff == pytest.approx(2 / 3)
    assert "3 of 4 registered" in row.note


def test_ci_contains_the_mean_and_the_clear_difference_is_significant():
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 1, 80)
    a = [{f"q{i}": v + 0.1 + rng.normal(0, 0.05) for i, v in enumerate(base)} for _ in range(3)]
    b = [{f"q{i}": v + rng.normal(0, 0.05) for i, v in enumerate(base)} for _ in range(3)]
    row = paired_difference(a, b, permutations=500, bootstrap=500)
    assert row.ci_low <= row.diff <= row.ci_high
    assert 0.08 < row.diff < 0.12 and row.ci_low > 0
    assert row.p < 0.01 and row.d_z > 1


def test_identical_arms_give_p_one_and_zero_effect():
    runs = [{f"q{i}": i / 20 for i in range(20)}]
    row = paired_difference(runs, runs, permutations=200, bootstrap=200)
    assert row.diff == 0 and row.p == 1.0 and row.d_z == 0.0


def test_constant_difference_gives_infinite_effect_not_float_noise():
    a = [{f"q{i}": i / 20 + 0.05 for i in range(20)}]
    b = [{f"q{i}": i / 20 for i in range(20)}]
    assert paired_difference(a, b, permutations=200, bootstrap=200).d_z == math.inf


def _row(p: float, comparison: str = "a - b", metric: str = "nDCG@10") -> DiffRow:
    return DiffRow(comparison, "beir/x", "all", metric, n=10, diff=0.1, p=p)


def test_holm_adjusts_in_place_keeping_order():
    rows = [_row(0.01), _row(0.04), _row(0.03), _row(math.nan)]
    apply_holm(rows)
    # sorted: 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 -> max(0.06, 0.04) = 0.06
    assert [r.p_holm for r in rows[:3]] == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(rows[3].p_holm)


def test_correct_separates_the_preregistered_family():
    rows = [_row(0.01), _row(0.02), _row(0.01, "a - c"), _row(0.02, metric="R@100")]
    correct(rows, ("a - b", "nDCG@10"))
    assert [r.family for r in rows] == ["primary", "primary", "secondary", "secondary"]
    assert [r.p_holm for r in rows] == pytest.approx([0.02, 0.02, 0.01, 0.02])


def test_verdict_never_stronger_than_the_numbers():
    rows = [_row(0.2), _row(0.5)]
    apply_holm(rows)
    text = verdict(rows, "hybrid", "cross", "nDCG@10", 0.05)
    assert text.startswith("No significant difference")
    better, worse = _row(0.001), _row(0.002)
    worse.diff = -0.05
    apply_holm([better, worse])
    text = verdict([better, worse], "hybrid", "cross", "nDCG@10", 0.05)
    assert "scores higher than cross on 1 of 2" in text and "lower on 1 of 2" in text
    assert verdict([DiffRow("a - b", "t", "all", "m", n=0)], "a", "b", "m", 0.05).startswith("No paired test")


def test_seed_spread_pairs_equal_seed_numbers_when_one_seed_is_missing():
    from polyret.report.analysis import seed_pairs

    # a has seeds 1, 3 (seed 2 missing); b has 1, 2, 3: seed 3 of a pairs with seed 3 of b
    assert seed_pairs([1, 3], [1, 2, 3]) == [(0, 0), (1, 2)]
    assert seed_pairs([1, 2], [None]) is None
    a = [{"q": 1.0}, {"q": 3.0}]
    b = [{"q": 0.0}, {"q": 10.0}, {"q": 2.0}]
    row = paired_difference(a, b, seed_pairs=[(0, 0), (1, 2)], permutations=100, bootstrap=100)
    assert row.seed_diffs == pytest.approx((1.0, 1.0))


def test_mean_ranks_by_hand_with_ties_as_shown_and_missing_values():
    means = [[0.563, 0.4712, 0.30],   # ranks 2, 1.5 (ties 0.471 as shown), 1
             [0.564, 0.4708, 0.20],   # ranks 1, 1.5, 3
             [0.539, 0.461, 0.25]]    # ranks 3, 3, 2
    assert mean_ranks(means) == pytest.approx([4.5 / 3, 5.5 / 3, 8 / 3])
    assert mean_ranks(means, digits=4)[:2] == pytest.approx([4 / 3, 6 / 3])  # the tie is broken
    with_gap = mean_ranks([[0.5, math.nan], [0.4, 0.9], [0.3, 0.8]])
    assert math.isnan(with_gap[0]) and with_gap[1:] == pytest.approx([1.5, 2.5])
