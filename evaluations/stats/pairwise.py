"""Rank players (models, answers) from pairwise comparisons: Bradley–Terry and its bootstrap.

Comparisons come as equal-length integer arrays: comparison r was won by `winners[r]` over
`losers[r]` (players 0..n_players-1), or was a tie between them where `ties[r]` is true.

Two choices hold throughout, and both are visible in the results:

- A tie counts as half a win for each side (the usual reduction, e.g. in LMSYS' arena), so a
  tie pulls the two players' scores together without a separate tie parameter.
- Each player also plays PRIOR_GAMES against a virtual opponent of strength 1 (score 0),
  winning half of them. This tiny prior keeps a player who never lost (or never won) at a
  finite score, and makes the fit exist when the comparison graph is not connected; with
  real numbers of comparisons it moves scores by less than the third decimal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

PRIOR_GAMES = 0.02  # per player, half won and half lost against a virtual opponent of score 0


@dataclass(frozen=True)
class BradleyTerryResult:
    """Centred log-strengths (P(i beats j) = 1 / (1 + exp(scores[j] − scores[i]))), the MM
    iterations run and whether the largest change of a score fell below the tolerance."""

    scores: np.ndarray
    iterations: int
    converged: bool


@dataclass(frozen=True)
class BootstrapInterval:
    """Per player, the percentile bootstrap interval of its score at `level`."""

    lower: np.ndarray
    upper: np.ndarray
    level: float
    n_resamples: int
    converged: bool


@dataclass(frozen=True)
class _Pairs:
    """Comparisons grouped by unordered pair (first < second) and outcome."""

    first: np.ndarray
    second: np.ndarray
    # One row per (pair, outcome): which pair, and the wins it gives the first player
    # (1, 0 or ½ for a tie); the second player gets 1 − that.
    outcome_pair: np.ndarray
    outcome_first_wins: np.ndarray
    outcome_counts: np.ndarray


def bradley_terry(
    winners: np.ndarray,
    losers: np.ndarray,
    n_players: int,
    ties: np.ndarray | None = None,
    *,
    max_iter: int = 10_000,
    tol: float = 1e-10,
) -> BradleyTerryResult:
    """Fit Bradley–Terry strengths by Hunter's (2004) MM algorithm, run to convergence.

    Each round sets p_i ← W_i / Σ_j n_ij / (p_i + p_j) for all players at once (W_i: wins,
    n_ij: games between i and j, both including the prior games), which raises the likelihood
    every round. It stops when no log-strength moves by more than `tol`.
    """
    pairs = _group(winners, losers, n_players, ties)
    counts = pairs.outcome_counts[None, :]
    scores, iterations, converged = _fit(pairs, counts, n_players, max_iter=max_iter, tol=tol)
    return BradleyTerryResult(scores=scores[0], iterations=iterations, converged=converged)


def bootstrap_ci(
    winners: np.ndarray,
    losers: np.ndarray,
    n_players: int,
    ties: np.ndarray | None = None,
    *,
    n_resamples: int = 200,
    level: float = 0.95,
    seed: int = 0,
    max_iter: int = 10_000,
    tol: float = 1e-8,
) -> BootstrapInterval:
    """Give each player's score an interval by resampling the comparisons with replacement.

    A resample of n comparisons is a multinomial draw over the distinct (pair, outcome)
    groups, so all resamples are drawn at once and fitted together, as one array of
    (resamples × players) strengths. The seed makes the interval reproducible.
    """
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    pairs = _group(winners, losers, n_players, ties)
    total = int(pairs.outcome_counts.sum())
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(total, pairs.outcome_counts / max(total, 1), size=n_resamples)
    scores, _, converged = _fit(pairs, counts.astype(float), n_players, max_iter=max_iter, tol=tol)
    tail = (1 - level) / 2
    lower, upper = np.quantile(scores, [tail, 1 - tail], axis=0)
    return BootstrapInterval(
        lower=lower, upper=upper, level=level, n_resamples=n_resamples, converged=converged
    )


def win_matrix(
    winners: np.ndarray, losers: np.ndarray, n_players: int, ties: np.ndarray | None = None
) -> np.ndarray:
    """Count wins: matrix[i, j] is how often i beat j, a tie giving each side ½."""
    winners, losers, tied = _checked(winners, losers, n_players, ties)
    weight = np.where(tied, 0.5, 1.0)
    wins = np.bincount(winners * n_players + losers, weights=weight, minlength=n_players**2)
    given = np.bincount(
        losers * n_players + winners, weights=np.where(tied, 0.5, 0.0), minlength=n_players**2
    )
    return (wins + given).reshape(n_players, n_players)


def _fit(
    pairs: _Pairs, counts: np.ndarray, n_players: int, *, max_iter: int, tol: float
) -> tuple[np.ndarray, int, bool]:
    """MM rounds for R fits at once: `counts` is (R × outcome groups); returns R × players."""
    n_pairs, n_groups = pairs.first.size, pairs.outcome_pair.size
    group = np.arange(n_groups)
    # Per fit: the games of each pair, and each player's wins (a group's wins go to the pair's
    # first player, the rest of its games to the second).
    to_pair = sparse.csr_matrix(
        (np.ones(n_groups), (group, pairs.outcome_pair)), shape=(n_groups, n_pairs)
    )
    to_player = sparse.csr_matrix(
        (
            np.concatenate([pairs.outcome_first_wins, 1 - pairs.outcome_first_wins]),
            (
                np.tile(group, 2),
                np.concatenate([pairs.first[pairs.outcome_pair], pairs.second[pairs.outcome_pair]]),
            ),
        ),
        shape=(n_groups, n_players),
    )
    games = np.asarray(counts @ to_pair)
    wins = np.asarray(counts @ to_player) + PRIOR_GAMES / 2
    # Each pair's term n_ij / (p_i + p_j) goes to both of its players (players × pairs).
    incidence = sparse.csr_matrix(
        (
            np.ones(2 * n_pairs),
            (np.concatenate([pairs.first, pairs.second]), np.tile(np.arange(n_pairs), 2)),
        ),
        shape=(n_players, n_pairs),
    )
    if n_players * n_pairs <= 1 << 20:
        incidence = incidence.toarray()  # small: a dense product has less overhead per round
    strengths = np.ones((counts.shape[0], n_players))
    log_strengths = np.zeros_like(strengths)
    converged = False
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        per_pair = games / (strengths[:, pairs.first] + strengths[:, pairs.second])
        denominator = (incidence @ per_pair.T).T + PRIOR_GAMES / (strengths + 1.0)
        updated = _rescaled(np.log(wins / denominator))
        strengths = np.exp(updated)
        change = float(np.abs(updated - log_strengths).max()) if updated.size else 0.0
        log_strengths = updated
        if change < tol:
            converged = True
            break
    return log_strengths - log_strengths.mean(axis=1, keepdims=True), iterations, converged


def _rescaled(log_strengths: np.ndarray) -> np.ndarray:
    """Shift each fit's log-strengths by the constant that best suits the prior games.

    The comparisons say nothing about the common scale of the strengths; only the prior
    games against the virtual opponent of strength 1 pin it, so MM rounds alone would take
    thousands of rounds to settle it. The best shift t solves Σ_i tanh((s_i + t) / 2) = 0
    (where the prior's log-likelihood peaks); an MM round barely moves the scale, so two
    Newton steps from t = 0 find it. The comparisons' likelihood does not change with the
    shift, so each round still raises the objective.
    """
    shift = np.zeros((log_strengths.shape[0], 1))
    for _ in range(2):
        slope = np.tanh((log_strengths + shift) / 2)
        shift -= slope.sum(axis=1, keepdims=True) / ((1 - slope**2).sum(axis=1, keepdims=True) / 2)
    return log_strengths + shift


def _group(
    winners: np.ndarray, losers: np.ndarray, n_players: int, ties: np.ndarray | None
) -> _Pairs:
    winners, losers, tied = _checked(winners, losers, n_players, ties)
    first, second = np.minimum(winners, losers), np.maximum(winners, losers)
    # 0: first won, 1: second won, 2: tie.
    outcome = np.where(tied, 2, np.where(winners == first, 0, 1))
    keys = (first * n_players + second) * 3 + outcome
    if 3 * n_players**2 <= max(4 * keys.size, 1 << 16):
        # Few players for the comparisons: counting every possible key beats sorting the keys.
        every = np.bincount(keys, minlength=3 * n_players**2)
        group_key = np.flatnonzero(every)
        group_counts = every[group_key]
    else:
        group_key, group_counts = np.unique(keys, return_counts=True)
    pair_key, outcome_pair = np.unique(group_key // 3, return_inverse=True)
    return _Pairs(
        first=pair_key // n_players,
        second=pair_key % n_players,
        outcome_pair=outcome_pair,
        outcome_first_wins=np.array([1.0, 0.0, 0.5])[group_key % 3],
        outcome_counts=group_counts.astype(float),
    )


def _checked(
    winners: np.ndarray, losers: np.ndarray, n_players: int, ties: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    winners, losers = np.asarray(winners, dtype=np.int64), np.asarray(losers, dtype=np.int64)
    if winners.shape != losers.shape or winners.ndim != 1:
        raise ValueError("winners and losers must be one-dimensional and of the same length")
    tied = np.zeros(winners.shape, dtype=bool) if ties is None else np.asarray(ties, dtype=bool)
    if tied.shape != winners.shape:
        raise ValueError("ties must have the length of winners")
    for side in (winners, losers):
        if side.size and (side.min() < 0 or side.max() >= n_players):
            raise ValueError("players must be in 0..n_players-1")
    if np.any(winners == losers):
        raise ValueError("a player cannot be compared with itself")
    return winners, losers, tied
