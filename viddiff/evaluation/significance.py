"""Binomial tests of correct-out-of-n against chance (0.5).

Exact sums of binomial coefficients in integers: the same p-values as
`scipy.stats.binomtest(k, n, 0.5)`, without the second it takes to import scipy.stats.
"""

from __future__ import annotations

import math

ALPHA = 0.05


def p_better_than_random(correct: int, n: int) -> float | None:
    """One-sided p-value that accuracy exceeds 0.5; None when n is 0."""
    return upper_tail(correct, n) if n else None


def p_differs_from_random(correct: int, n: int) -> float | None:
    """Two-sided p-value that accuracy differs from 0.5; None when n is 0."""
    return two_sided_p(correct, n) if n else None


def upper_tail(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 0.5): the one-sided binomial test of k successes in n."""
    if not 0 <= k <= n:
        return 1.0 if k <= 0 else 0.0
    term, total = math.comb(n, k), 0
    for i in range(k, n + 1):  # C(n, i + 1) = C(n, i) * (n - i) / (i + 1)
        total += term
        term = term * (n - i) // (i + 1)
    return total / 2**n


def two_sided_p(k: int, n: int) -> float:
    """Two-sided binomial test of k successes in n at 0.5: both tails as far from n/2 as k."""
    return min(1.0, 2 * upper_tail(max(k, n - k), n))


def mark(p_value: float | None) -> str:
    """'*' when p < 0.05, else ''."""
    return "*" if p_value is not None and p_value < ALPHA else ""
