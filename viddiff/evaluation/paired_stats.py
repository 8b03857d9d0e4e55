"""Statistics of two runs' paired differences: is one run better, and by how much.

The differences of one sample share its videos and one answer from each run, so they are not
independent: a run tends to get a sample's differences all right or all wrong together. The
verdict therefore rests on a sample-level test, an exact paired permutation (sign-flip) test
of the per-sample gaps, and the score gap gets a cluster bootstrap interval that resamples
whole samples. The exact McNemar test over single differences, which treats them as
independent and so finds "significant" gaps far too often, is kept for reference only.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from viddiff.evaluation.significance import ALPHA, two_sided_p


@dataclass(frozen=True)
class PairedStats:
    """Agreement counts, the sample-level p-value and the cluster-bootstrap score gap A - B."""

    n: int
    """Paired differences."""
    both_right: int
    a_only: int
    """Differences A got right and B wrong."""
    b_only: int
    """Differences A got wrong and B right."""
    neither: int
    p_value: float
    """Two-sided exact sample-level permutation (sign-flip) test of the per-sample gaps: the
    p-value the verdict uses."""
    p_mcnemar_differences: float
    """Exact McNemar p over single differences, treating the differences of one sample as
    independent (they are not, so it is too small): for reference only."""
    gap: float
    """Score of A minus score of B (a fraction; NaN when n is 0)."""
    low: float
    high: float
    """Percentile bootstrap interval of the gap (NaN with fewer than two samples)."""
    confidence: float
    resamples: int
    seed: int
    clusters: int
    """Samples: the units of the permutation test and of the cluster bootstrap."""
    samples_a_better: int
    """Samples where A got more of the paired differences right than B."""
    samples_b_better: int
    samples_tied: int
    """Samples where both runs got as many right."""


def sign_flip_test(sample_gaps: Sequence[int]) -> float:
    """Exact two-sided paired permutation (sign-flip) test of integer per-sample gaps.

    Under the null hypothesis each gap's sign is + or - with probability 1/2, independently;
    the statistic is |sum of gaps|. The null distribution of the sum is built exactly, one
    sample at a time (a convolution over the possible sums), so the test is exact for any
    number of samples. With every nonzero gap of one size it is the two-sided sign test.

    Args:
        sample_gaps: per sample, correct answers of A minus those of B (integers).

    Returns:
        P(|S| >= |observed sum|) under the null; 1.0 when no gap is nonzero.
    """
    gaps = np.asarray(sample_gaps)
    if gaps.ndim != 1:
        raise ValueError(f"sample_gaps must be 1-d, got shape {gaps.shape}")
    if not np.array_equal(gaps, np.round(gaps)):
        raise ValueError("sample gaps must be integers")
    gaps = gaps.astype(np.int64)
    magnitudes = np.abs(gaps[gaps != 0])
    if magnitudes.size == 0:
        return 1.0
    # probabilities[k] = P(S = k - total), S the sign-flipped sum of the gaps seen so far
    probabilities = np.ones(1)
    for magnitude in magnitudes:
        spread = np.zeros(probabilities.size + 2 * magnitude)
        spread[: probabilities.size] += 0.5 * probabilities
        spread[2 * magnitude :] += 0.5 * probabilities
        probabilities = spread
    total = int(magnitudes.sum())
    observed = abs(int(gaps.sum()))
    sums = np.arange(probabilities.size) - total
    return min(1.0, float(probabilities[np.abs(sums) >= observed].sum()))


def sample_permutation_test(correct_a: Sequence[bool], correct_b: Sequence[bool], groups: Sequence[Hashable]) -> float:
    """`sign_flip_test` of the per-sample gaps of paired differences.

    Args:
        correct_a, correct_b: whether each run got each paired difference right.
        groups: one label per difference, its sample key.

    Returns:
        The two-sided p-value; 1.0 when there are no differences or no sample where the runs
        got different numbers right.

    Raises:
        ValueError: arrays of different lengths.
    """
    sample_gaps, _ = _unit_totals(correct_a, correct_b, groups)
    return sign_flip_test(sample_gaps)


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value from the discordant counts.

    Args:
        b: pairs where A is right and B wrong.
        c: pairs where A is wrong and B right.

    Returns:
        The two-sided binomial test of min(b, c) successes in b + c trials at 0.5; 1.0 when
        there are no discordant pairs (no evidence either way).
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be non-negative, got b={b}, c={c}")
    if b + c == 0:
        return 1.0
    return two_sided_p(min(b, c), b + c)


def resampled_gaps(
    correct_a: Sequence[bool], correct_b: Sequence[bool], *, samples: int = 10_000, seed: int = 0, groups: Sequence[Hashable] | None = None
) -> np.ndarray:
    """Score(A) - score(B) on `samples` bootstrap resamples of the paired differences.

    Each resample draws as many units as there are, with replacement: differences, or (with
    `groups`, one label per difference such as its sample key) whole groups. Units with the
    same size and the same summed `correct_a - correct_b` are interchangeable, so a resample is
    drawn as multinomial counts over those kinds of unit: the same distribution as drawing
    indices, in memory proportional to the number of kinds rather than to n.

    Raises:
        ValueError: no differences, arrays of different lengths, or `samples` < 1.
    """
    sums, sizes = _unit_totals(correct_a, correct_b, groups)
    if sums.size == 0:
        raise ValueError("no paired differences to resample")
    return _resample(sums, sizes, samples, seed)


def bootstrap_gap(
    correct_a: Sequence[bool],
    correct_b: Sequence[bool],
    *,
    samples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    groups: Sequence[Hashable] | None = None,
) -> tuple[float, float, float]:
    """Score(A) - score(B) with a percentile bootstrap interval.

    Args:
        correct_a, correct_b: whether each run got each paired difference right.
        samples: bootstrap resamples.
        seed: seeds `numpy.random.default_rng`; nothing else is random.
        confidence: coverage of the interval.
        groups: one label per difference (e.g. its sample key) to resample whole groups, a
            cluster bootstrap; None resamples single differences.

    Returns:
        (gap, low, high). With no differences all three are NaN; with fewer than two units to
        resample the interval is NaN (a bootstrap of one unit has no spread to estimate).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    sums, sizes = _unit_totals(correct_a, correct_b, groups)
    if sums.size == 0:
        return math.nan, math.nan, math.nan
    gap = float(sums.sum() / sizes.sum())
    if sums.size < 2:
        return gap, math.nan, math.nan
    gaps = _resample(sums, sizes, samples, seed)
    low, high = np.quantile(gaps, [(1 - confidence) / 2, (1 + confidence) / 2])
    return gap, float(low), float(high)


def paired_stats(
    correct_a: Sequence[bool],
    correct_b: Sequence[bool],
    sample_keys: Sequence[Hashable],
    *,
    samples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> PairedStats:
    """Counts, the sample-level permutation p, the McNemar p (reference) and the cluster
    bootstrap of the gap, of paired differences clustered by sample.

    Args:
        correct_a, correct_b: whether each run got each paired difference right.
        sample_keys: the sample of each difference.
        samples, seed, confidence: of the bootstrap, as in `bootstrap_gap`.

    Raises:
        ValueError: arrays of different lengths, or a confidence outside (0, 1).
    """
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    sample_gaps, _ = _unit_totals(a, b, sample_keys)
    gap, low, high = bootstrap_gap(a, b, samples=samples, seed=seed, confidence=confidence, groups=sample_keys)
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(~a & b))
    return PairedStats(
        n=a.size,
        both_right=int(np.sum(a & b)),
        a_only=a_only,
        b_only=b_only,
        neither=int(np.sum(~a & ~b)),
        p_value=sign_flip_test(sample_gaps),
        p_mcnemar_differences=mcnemar_exact(a_only, b_only),
        gap=gap,
        low=low,
        high=high,
        confidence=confidence,
        resamples=samples,
        seed=seed,
        clusters=sample_gaps.size,
        samples_a_better=int(np.sum(sample_gaps > 0)),
        samples_b_better=int(np.sum(sample_gaps < 0)),
        samples_tied=int(np.sum(sample_gaps == 0)),
    )


def verdict(stats: PairedStats) -> str:
    """One line: which run is better at the 5% level by the sample-level permutation test, or neither."""
    if stats.n == 0:
        return "nothing to compare: no difference was scored in both runs"
    differing = stats.samples_a_better + stats.samples_b_better
    evidence = f"(sample-level permutation test, p {_p_text(stats.p_value)}, {differing} of {stats.clusters} samples differ)"
    if stats.p_value < ALPHA:
        return f"{'A' if stats.gap > 0 else 'B'} is better {evidence}"
    return f"no significant difference {evidence}"


def _p_text(p_value: float) -> str:
    """'= 0.043', '= 1', or '< 0.001'."""
    return "< 0.001" if p_value < 0.001 else f"= {p_value:.2g}"


def _unit_totals(correct_a: Sequence[bool], correct_b: Sequence[bool], groups: Sequence[Hashable] | None) -> tuple[np.ndarray, np.ndarray]:
    """Per resampling unit (a difference, or a group of them): summed correct_a - correct_b, and size."""
    a, b = np.asarray(correct_a, dtype=float), np.asarray(correct_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"correct_a and correct_b must be 1-d and of one length, got shapes {a.shape} and {b.shape}")
    if groups is None:
        return a - b, np.ones_like(a)
    if len(groups) != a.size:
        raise ValueError(f"groups has {len(groups)} labels for {a.size} differences")
    _, unit = np.unique(np.asarray(groups), return_inverse=True)
    return np.bincount(unit, weights=a - b), np.bincount(unit).astype(float)


def _resample(sums: np.ndarray, sizes: np.ndarray, samples: int, seed: int) -> np.ndarray:
    """Gaps of `samples` resamples of the units given by their summed differences and sizes."""
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    kinds, counts = np.unique(np.column_stack([sums, sizes]), axis=0, return_counts=True)
    draws = np.random.default_rng(seed).multinomial(sums.size, counts / sums.size, size=samples)
    return (draws @ kinds[:, 0]) / (draws @ kinds[:, 1])
