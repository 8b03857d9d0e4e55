"""The exact binomial tests against scipy's binomtest, the reference they replace."""

import pytest
from scipy.stats import binomtest

from viddiff.evaluation.significance import p_better_than_random, p_differs_from_random, two_sided_p, upper_tail


@pytest.mark.parametrize("n", [*range(1, 41), 99, 100, 257, 1000, 4999])
def test_p_values_match_binomtest(n):
    for k in sorted({*range(0, min(n, 40) + 1), *range(max(0, n // 2 - 20), min(n, n // 2 + 20) + 1), n}):
        assert p_better_than_random(k, n) == pytest.approx(binomtest(k, n, 0.5, alternative="greater").pvalue, rel=1e-9, abs=1e-300)
        assert p_differs_from_random(k, n) == pytest.approx(binomtest(k, n, 0.5).pvalue, rel=1e-9, abs=1e-300)


def test_edges():
    assert p_better_than_random(0, 0) is None and p_differs_from_random(0, 0) is None
    assert upper_tail(0, 7) == 1.0 and upper_tail(8, 7) == 0.0 and upper_tail(7, 7) == 2**-7
    assert two_sided_p(5, 10) == 1.0 and two_sided_p(0, 10) == 2 * 2**-10
