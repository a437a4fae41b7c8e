"""Beta–binomial posteriors for rates such as a contributor's accuracy on gold tasks.

A rate measured on few tasks is uncertain; the posterior mean shrinks it towards the prior and
the credible interval says how far it could be, so a decision (e.g. to stop someone after two
misses) can wait until the interval is narrow enough.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import beta


@dataclass(frozen=True)
class BetaPosterior:
    """Posterior mean and equal-tailed credible interval [lower, upper] of a rate.

    Floats from `beta_posterior`, arrays of one value per rate from `beta_posteriors`.
    """

    mean: float | np.ndarray
    lower: float | np.ndarray
    upper: float | np.ndarray


def beta_posterior(
    correct: int, total: int, prior_a: float = 1.0, prior_b: float = 1.0, level: float = 0.9
) -> BetaPosterior:
    """Beta(prior_a + correct, prior_b + total − correct): its mean and central `level` interval.

    With the default uniform prior, 0 of 0 gives mean 0.5 and the interval (0.05, 0.95) at 90%.
    """
    result = beta_posteriors(
        np.asarray([correct]), np.asarray([total]), prior_a=prior_a, prior_b=prior_b, level=level
    )
    return BetaPosterior(
        mean=float(result.mean[0]), lower=float(result.lower[0]), upper=float(result.upper[0])
    )


def beta_posteriors(
    correct: np.ndarray,
    total: np.ndarray,
    *,
    prior_a: float = 1.0,
    prior_b: float = 1.0,
    level: float = 0.9,
) -> BetaPosterior:
    """`beta_posterior` for arrays of counts at once (e.g. every contributor of a project)."""
    correct, total = np.asarray(correct, dtype=float), np.asarray(total, dtype=float)
    if correct.shape != total.shape:
        raise ValueError("correct and total must have the same shape")
    if np.any(correct < 0) or np.any(correct > total):
        raise ValueError("need 0 <= correct <= total")
    if prior_a <= 0 or prior_b <= 0:
        raise ValueError("the prior's parameters must be positive")
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    a = prior_a + correct
    b = prior_b + total - correct
    tail = (1 - level) / 2
    return BetaPosterior(
        mean=a / (a + b), lower=beta.ppf(tail, a, b), upper=beta.ppf(1 - tail, a, b)
    )
