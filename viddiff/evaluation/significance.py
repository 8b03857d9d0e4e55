"""Binomial tests of correct-out-of-n against chance (0.5)."""

from __future__ import annotations

from scipy.stats import binomtest

ALPHA = 0.05


def p_better_than_random(correct: int, n: int) -> float | None:
    """One-sided p-value that accuracy exceeds 0.5; None when n is 0."""
    return float(binomtest(correct, n, 0.5, alternative="greater").pvalue) if n else None


def p_differs_from_random(correct: int, n: int) -> float | None:
    """Two-sided p-value that accuracy differs from 0.5; None when n is 0."""
    return float(binomtest(correct, n, 0.5, alternative="two-sided").pvalue) if n else None


def mark(p_value: float | None) -> str:
    """'*' when p < 0.05, else ''."""
    return "*" if p_value is not None and p_value < ALPHA else ""
