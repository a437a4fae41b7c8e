"""Beta posteriors of rates, against values worked out by hand."""

from math import comb

import numpy as np
import pytest
from scipy.stats import beta

from evaluations.stats import beta_posterior, beta_posteriors


def test_no_evidence_gives_the_uniform_prior():
    result = beta_posterior(0, 0)

    # Beta(1, 1) is uniform on [0, 1]: its 5% and 95% quantiles are 0.05 and 0.95.
    assert result.mean == 0.5
    assert result.lower == pytest.approx(0.05)
    assert result.upper == pytest.approx(0.95)


def test_eight_of_ten_with_a_uniform_prior_is_beta_nine_three():
    result = beta_posterior(8, 10)

    assert result.mean == pytest.approx(9 / 12)
    assert result.lower == pytest.approx(beta.ppf(0.05, 9, 3))
    assert result.upper == pytest.approx(beta.ppf(0.95, 9, 3))
    assert (round(result.lower, 4), round(result.upper, 4)) == (0.5299, 0.9212)


def test_the_interval_bounds_hold_five_percent_each_by_the_binomial_identity():
    result = beta_posterior(8, 10)

    # For whole a, b: P(Beta(a, b) ≤ x) = P(Binomial(a + b − 1, x) ≥ a); here a = 9, b = 3.
    def below(x: float) -> float:
        return sum(comb(11, k) * x**k * (1 - x) ** (11 - k) for k in range(9, 12))

    assert below(result.lower) == pytest.approx(0.05)
    assert below(result.upper) == pytest.approx(0.95)


def test_all_correct_with_jeffreys_prior_at_95_percent():
    result = beta_posterior(5, 5, prior_a=0.5, prior_b=0.5, level=0.95)

    # Beta(5.5, 0.5): mean 5.5 / 6, upper quantile 1 − (0.025 of the mirrored Beta(0.5, 5.5)).
    assert result.mean == pytest.approx(5.5 / 6)
    assert result.upper == pytest.approx(1 - beta.ppf(0.025, 0.5, 5.5))
    assert result.lower == pytest.approx(beta.ppf(0.025, 5.5, 0.5))


def test_arrays_give_the_scalar_results():
    correct, total = np.array([0, 8, 3, 50]), np.array([0, 10, 3, 100])

    many = beta_posteriors(correct, total, prior_a=2.0, prior_b=1.0, level=0.8)

    for n in range(4):
        one = beta_posterior(int(correct[n]), int(total[n]), prior_a=2.0, prior_b=1.0, level=0.8)
        assert (many.mean[n], many.lower[n], many.upper[n]) == pytest.approx(
            (one.mean, one.lower, one.upper)
        )


def test_more_evidence_narrows_the_interval():
    result = beta_posteriors(np.array([8, 80, 800]), np.array([10, 100, 1000]))

    widths = result.upper - result.lower
    assert widths[0] > widths[1] > widths[2]


def test_more_correct_than_total_is_rejected():
    with pytest.raises(ValueError, match="correct <= total"):
        beta_posterior(3, 2)
