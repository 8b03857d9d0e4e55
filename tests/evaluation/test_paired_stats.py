"""Paired statistics: the sample-level sign-flip test behind the verdict, McNemar (reference), bootstrap."""

import itertools
from collections import Counter
from fractions import Fraction
from math import comb, isnan

import numpy as np
import pytest
from scipy.stats import binomtest

from viddiff.evaluation.paired_stats import (
    bootstrap_gap,
    mcnemar_exact,
    paired_stats,
    resampled_gaps,
    sample_permutation_test,
    sign_flip_test,
    verdict,
)
from viddiff.evaluation.significance import ALPHA


def clustered(per_sample: list[tuple[list[bool], list[bool]]]) -> tuple[list[bool], list[bool], list[str]]:
    """(correct_a, correct_b, sample_keys) from each sample's (A's answers, B's answers)."""
    correct_a, correct_b, keys = [], [], []
    for index, (a, b) in enumerate(per_sample):
        correct_a += a
        correct_b += b
        keys += [f"s{index}"] * len(a)
    return correct_a, correct_b, keys


def worked_example() -> tuple[list[bool], list[bool], list[str]]:
    """100 samples of 8 differences: 95 where the runs agree, 4 where only B is right on all 8,
    1 where only A is."""
    agree = ([True, False] * 4, [True, False] * 4)
    return clustered([agree] * 95 + [([False] * 8, [True] * 8)] * 4 + [([True] * 8, [False] * 8)])


def simulated_runs(rng: np.random.Generator, *, samples: int = 60, per_sample: int = 6, shift_b: float = 0.0):
    """Two runs with a strong per-sample effect: each difference is right with probability
    sigmoid(shared + own), where `shared` (sd 1) is one draw per sample for both runs and `own`
    (sd 2) one draw per sample and run; B's logit is moved by `shift_b` (0: no true gap)."""
    shared = rng.normal(0, 1, (samples, 1))
    logit_a = shared + rng.normal(0, 2, (samples, 1))
    logit_b = shared + rng.normal(0, 2, (samples, 1)) + shift_b
    correct_a = rng.random((samples, per_sample)) < 1 / (1 + np.exp(-logit_a))
    correct_b = rng.random((samples, per_sample)) < 1 / (1 + np.exp(-logit_b))
    return correct_a.ravel(), correct_b.ravel(), np.repeat(np.arange(samples), per_sample)


# Sample-level sign-flip test


def test_worked_example_is_a_sign_test_over_the_five_differing_samples():
    stats = paired_stats(*worked_example(), samples=2000)
    assert stats.p_value == 0.375  # one +8 and four -8: P(#plus in {0, 1, 4, 5}) = 12/32
    assert stats.p_mcnemar_differences < 0.001  # 8 against 32 differences, as if independent
    assert (stats.n, stats.a_only, stats.b_only, stats.clusters) == (800, 8, 32, 100)
    assert (stats.samples_a_better, stats.samples_b_better, stats.samples_tied) == (1, 4, 95)
    assert stats.gap == pytest.approx(-0.03) and stats.low <= 0 <= stats.high
    assert verdict(stats) == "no significant difference (sample-level permutation test, p = 0.38, 5 of 100 samples differ)"


@pytest.mark.parametrize(
    ("sample_gaps", "expected"),
    [
        ([1, 1, 1], Fraction(2, 8)),  # only +++ and --- reach |3|
        ([2, -1], Fraction(1)),  # sums 1, 3, -3, -1: all reach |1|
        ([2, 1], Fraction(2, 4)),  # 3 and -3 of 3, 1, -1, -3
        ([3, 1, 1], Fraction(2, 8)),  # sums 5, 3, 3, 1, -1, -3, -3, -5
        ([3, 1, -1, 1], Fraction(8, 16)),  # 3 + (3, 1, 1, 1, -1, -1, -1, -3) and negatives: 8 of 16 reach |4|
        ([4, 0, 0], Fraction(1)),  # a single nonzero sample can never be significant
        ([0, 0], Fraction(1)),
        ([], Fraction(1)),
    ],
)
def test_sign_flip_test_by_hand(sample_gaps, expected):
    assert sign_flip_test(sample_gaps) == float(expected)


def test_sign_flip_test_matches_brute_force_enumeration_exactly():
    rng = np.random.default_rng(11)
    for _ in range(200):
        clusters = int(rng.integers(1, 11))
        sizes = rng.integers(1, 6, clusters)
        correct_a, correct_b = rng.random(sizes.sum()) < 0.5, rng.random(sizes.sum()) < 0.5
        keys = np.repeat(np.arange(clusters), sizes)
        gaps = [int(correct_a[keys == k].sum()) - int(correct_b[keys == k].sum()) for k in range(clusters)]
        nonzero = [g for g in gaps if g]
        observed = abs(sum(gaps))
        extreme = sum(abs(sum(s * g for s, g in zip(signs, nonzero))) >= observed for signs in itertools.product((1, -1), repeat=len(nonzero)))
        assert sample_permutation_test(correct_a, correct_b, keys) == float(Fraction(extreme, 2 ** len(nonzero)))


def test_sign_flip_test_with_gaps_of_one_size_is_the_two_sided_sign_test():
    for plus, minus in [(0, 1), (3, 9), (40, 60), (180, 120)]:
        gaps = [3] * plus + [-3] * minus + [0] * 50
        assert sign_flip_test(gaps) == pytest.approx(binomtest(plus, plus + minus, 0.5).pvalue, rel=1e-9)


def test_sign_flip_test_refuses_gaps_that_are_not_integers():
    with pytest.raises(ValueError, match="integers"):
        sign_flip_test([1.5, 1])
    with pytest.raises(ValueError, match="1-d"):
        sign_flip_test([[1, 1]])


def test_sample_permutation_test_refuses_arrays_of_different_lengths():
    with pytest.raises(ValueError, match="of one length"):
        sample_permutation_test([True, False], [True], ["s1", "s1"])
    with pytest.raises(ValueError, match="groups has 1 labels for 2 differences"):
        sample_permutation_test([True, False], [True, True], ["s1"])


def test_no_true_gap_with_a_per_sample_effect_keeps_the_false_better_rate_near_alpha():
    """400 comparisons of two equally good runs whose answers within a sample go together: the
    verdict calls one better about alpha of the time; McNemar on differences several times as often."""
    rng = np.random.default_rng(2025)
    verdicts, mcnemar_p = [], []
    for _ in range(400):
        stats = paired_stats(*simulated_runs(rng), samples=100, seed=0)
        verdicts.append(verdict(stats))
        mcnemar_p.append(stats.p_mcnemar_differences)
    false_better = np.mean([" is better " in line for line in verdicts])
    mcnemar_false_better = np.mean(np.array(mcnemar_p) < ALPHA)
    assert false_better <= 0.08
    assert mcnemar_false_better > 0.15


def test_a_real_per_sample_gap_is_detected():
    rng = np.random.default_rng(7)
    verdicts = [verdict(paired_stats(*simulated_runs(rng, shift_b=2.0), samples=100)) for _ in range(100)]
    assert np.mean([line.startswith("B is better (sample-level permutation test, p ") for line in verdicts]) >= 0.9
    assert not any(line.startswith("A is better") for line in verdicts)


# Paired stats and the verdict


def test_paired_stats_count_differences_and_samples():
    # s1: both right, A only; s2: A only, neither; s3: A only, B only (a tie)
    correct_a, correct_b, keys = clustered([([True, True], [True, False]), ([True, False], [False, False]), ([True, False], [False, True])])
    stats = paired_stats(correct_a, correct_b, keys, samples=200)
    assert (stats.n, stats.both_right, stats.a_only, stats.b_only, stats.neither) == (6, 1, 3, 1, 1)
    assert (stats.clusters, stats.samples_a_better, stats.samples_b_better, stats.samples_tied) == (3, 2, 0, 1)
    assert stats.p_value == 0.5  # gaps +1, +1: only ++ and -- reach |2|
    assert stats.p_mcnemar_differences == pytest.approx(0.625)  # 2 * (1 + 4) / 16
    assert stats.gap == pytest.approx(2 / 6)
    assert (stats.resamples, stats.seed, stats.confidence) == (200, 0, 0.95)
    assert verdict(stats) == "no significant difference (sample-level permutation test, p = 0.5, 2 of 3 samples differ)"


def test_verdict_names_the_better_run_by_the_sign_of_the_gap():
    a_better = clustered([([True] * 3, [False] * 3)] * 6 + [([True] * 3, [True] * 3)] * 4)
    stats = paired_stats(*a_better, samples=200)
    assert stats.p_value == 2 / 64 and stats.gap == pytest.approx(18 / 30)
    assert verdict(stats) == "A is better (sample-level permutation test, p = 0.031, 6 of 10 samples differ)"
    correct_a, correct_b, keys = a_better
    assert verdict(paired_stats(correct_b, correct_a, keys, samples=200)).startswith("B is better (sample-level permutation test")


def test_paired_stats_of_no_difference_and_of_one_sample():
    empty = paired_stats([], [], [])
    assert (empty.n, empty.clusters, empty.p_value, empty.p_mcnemar_differences) == (0, 0, 1.0, 1.0)
    assert isnan(empty.gap) and isnan(empty.low)
    assert verdict(empty) == "nothing to compare: no difference was scored in both runs"
    one = paired_stats([True] * 10, [False] * 10, ["s1"] * 10)
    assert one.p_value == 1.0 and one.p_mcnemar_differences < 0.01
    assert one.gap == 1.0 and isnan(one.low) and isnan(one.high)
    assert verdict(one) == "no significant difference (sample-level permutation test, p = 1, 1 of 1 samples differ)"


def test_identical_runs_have_no_differing_sample():
    correct_a, _, keys = worked_example()
    stats = paired_stats(correct_a, correct_a, keys, samples=200)
    assert (stats.p_value, stats.samples_tied, stats.gap, stats.low, stats.high) == (1.0, 100, 0.0, 0.0, 0.0)
    assert verdict(stats) == "no significant difference (sample-level permutation test, p = 1, 0 of 100 samples differ)"


# McNemar (reference only)


@pytest.mark.parametrize(("b", "c", "expected"), [(5, 0, 2 * 0.5**5), (0, 5, 0.0625), (6, 1, 2 * (1 + 7) / 128), (0, 0, 1.0), (3, 3, 1.0)])
def test_mcnemar_exact_by_hand(b, c, expected):
    assert mcnemar_exact(b, c) == pytest.approx(expected)


def test_mcnemar_exact_matches_the_binomial_tail():
    for b, c in itertools.product(range(13), repeat=2):
        if b + c == 0:
            continue
        tail = Fraction(sum(comb(b + c, k) for k in range(min(b, c) + 1)), 2 ** (b + c))
        assert mcnemar_exact(b, c) == pytest.approx(float(min(1, 2 * tail)), abs=1e-12)
    with pytest.raises(ValueError, match="non-negative"):
        mcnemar_exact(-1, 2)


# Bootstrap


@pytest.mark.parametrize("groups", [None, ["s1", "s1", "s2", "s3", "s3"]])
def test_bootstrap_of_identical_runs_is_zero(groups):
    correct = [True, False, True, True, False]
    assert bootstrap_gap(correct, correct, samples=500, groups=groups) == (0.0, 0.0, 0.0)


def test_bootstrap_handles_no_difference_and_a_single_unit():
    assert all(isnan(x) for x in bootstrap_gap([], []))
    gap, low, high = bootstrap_gap([True, False], [False, False], groups=["s1", "s1"])  # one sample: nothing to resample
    assert gap == 0.5 and isnan(low) and isnan(high)
    with pytest.raises(ValueError, match="no paired differences"):
        resampled_gaps([], [])


def test_bootstrap_is_reproducible_for_a_seed():
    rng = np.random.default_rng(7)
    a, b = rng.random(40) < 0.6, rng.random(40) < 0.5
    groups = np.arange(40) // 4
    assert bootstrap_gap(a, b, seed=3, groups=groups) == bootstrap_gap(a, b, seed=3, groups=groups)
    assert not np.array_equal(resampled_gaps(a, b, seed=3, samples=100), resampled_gaps(a, b, seed=4, samples=100))


def test_cluster_bootstrap_is_wider_when_a_sample_s_differences_agree():
    # 12 samples of 5 differences; within a sample both runs are all right or all wrong together.
    per_sample_a = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0]
    per_sample_b = [1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0]
    a, b = np.repeat(per_sample_a, 5).astype(bool), np.repeat(per_sample_b, 5).astype(bool)
    groups = np.repeat(np.arange(12), 5)
    gap, low, high = bootstrap_gap(a, b, samples=4000)
    cluster_gap, cluster_low, cluster_high = bootstrap_gap(a, b, samples=4000, groups=groups)
    assert gap == cluster_gap == pytest.approx(4 / 12)
    assert cluster_high - cluster_low > 1.5 * (high - low)


def test_resampled_gaps_follow_the_brute_force_cluster_bootstrap_distribution():
    """Every equally likely draw of whole samples, enumerated, against the multinomial draws."""
    a = np.array([1, 1, 0, 1, 0, 1, 1], dtype=bool)
    b = np.array([0, 1, 1, 0, 0, 0, 1], dtype=bool)
    groups = ["x", "x", "y", "z", "z", "z", "w"]
    units = [np.flatnonzero(np.array(groups) == g) for g in dict.fromkeys(groups)]
    exact = Counter()
    for draw in itertools.product(units, repeat=len(units)):
        members = np.concatenate(draw)
        exact[round(a[members].mean() - b[members].mean(), 9)] += 1
    gaps = resampled_gaps(a, b, samples=200_000, seed=1, groups=groups)
    drawn = Counter(np.round(gaps, 9))
    assert set(drawn) <= set(exact)
    for value, count in exact.items():
        assert drawn[value] / gaps.size == pytest.approx(count / len(units) ** len(units), abs=0.005)


def test_bootstrap_refuses_bad_arguments():
    with pytest.raises(ValueError, match="of one length"):
        bootstrap_gap([True, False], [True])
    with pytest.raises(ValueError, match="groups has 1 labels for 2 differences"):
        bootstrap_gap([True, False], [True, True], groups=["s1"])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_gap([True], [False], confidence=1.0)
    with pytest.raises(ValueError, match="samples must be at least 1"):
        resampled_gaps([True, False], [False, False], samples=0)
