"""Bradley–Terry and its bootstrap, on the PRD human votes (Li, Patel and Du, TMLR 2024) and on
synthetic tournaments with known strengths."""

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr

from evaluations.stats import bootstrap_ci, bradley_terry, win_matrix
from tests.evaluations.stats import shared_data

# The published matrix's names for the models, as human_votes_long.csv spells them.
PUBLISHED_NAMES = {
    "gpt-4": "gpt4",
    "claude": "claude",
    "vicuna": "vicuna-13b",
    "gpt-3.5": "gpt35",
    "bard": "bard",
}


@dataclass(frozen=True)
class Votes:
    names: list[str]
    winners: np.ndarray
    losers: np.ndarray
    ties: np.ndarray
    questions: np.ndarray


@cache
def human_votes() -> Votes:
    """The 7,040 votes: `winner` is model_1, model_2 or tie (score 1, 2 or 3)."""
    path = shared_data("preferences") / "human_votes_long.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    names = sorted({row["model_1"] for row in rows} | {row["model_2"] for row in rows})
    index = {name: n for n, name in enumerate(names)}
    first = np.array([index[row["model_1"]] for row in rows])
    second = np.array([index[row["model_2"]] for row in rows])
    second_won = np.array([row["winner"] == "model_2" for row in rows])
    return Votes(
        names=names,
        winners=np.where(second_won, second, first),
        losers=np.where(second_won, first, second),
        ties=np.array([row["winner"] == "tie" for row in rows]),
        questions=np.array([int(row["question_id"]) for row in rows]),
    )


def question_win_rate(votes: Votes, model: str, other: str) -> float:
    """`model`'s share of questions won against `other`, one label per question by majority of
    its votes; a tie vote winning, or a split with no majority, counts ½."""
    a, b = votes.names.index(model), votes.names.index(other)
    per_question: dict[int, Counter] = defaultdict(Counter)
    for winner, loser, tie, question in zip(
        votes.winners, votes.losers, votes.ties, votes.questions, strict=True
    ):
        if {winner, loser} == {a, b}:
            per_question[question]["tie" if tie else winner] += 1
    points = []
    for counter in per_question.values():
        (top, count), *rest = counter.most_common()
        split = bool(rest) and rest[0][1] == count
        points.append(0.5 if split or top == "tie" else float(top == a))
    return float(np.mean(points))


def test_win_rates_reproduce_the_published_matrix():
    votes = human_votes()
    with (shared_data("preferences") / "published_human_winrate_heatmap.csv").open() as handle:
        rows = list(csv.reader(handle))
    columns = rows[0][1:]
    gaps = {}
    for row in rows[1:]:
        for column, published in zip(columns, row[1:], strict=True):
            if row[0] < column:  # each pair once; the matrix holds both directions
                model, other = PUBLISHED_NAMES[row[0]], PUBLISHED_NAMES[column]
                gaps[(row[0], column)] = abs(
                    question_win_rate(votes, model, other) - float(published)
                )

    assert len(gaps) == 10
    assert sum(gap < 1e-9 for gap in gaps.values()) == 7
    assert max(gaps.values()) <= 1 / 160 + 1e-9


def test_bradley_terry_gives_the_published_human_order():
    votes = human_votes()

    result = bradley_terry(votes.winners, votes.losers, len(votes.names), votes.ties)

    assert result.converged
    scores = {name: result.scores[votes.names.index(name)] for name in PUBLISHED_NAMES.values()}
    assert sorted(scores, key=scores.get, reverse=True) == [
        "gpt4",
        "claude",
        "vicuna-13b",
        "gpt35",
        "bard",
    ]
    # gpt-3.5 ≈ bard: their gap is under a quarter of the one to vicuna above them.
    assert scores["gpt35"] - scores["bard"] < (scores["vicuna-13b"] - scores["gpt35"]) / 4


def test_bootstrap_overlaps_gpt35_and_bard_but_separates_gpt4_from_vicuna():
    votes = human_votes()

    interval = bootstrap_ci(votes.winners, votes.losers, len(votes.names), votes.ties, seed=1)

    gpt4, vicuna, gpt35, bard = (
        votes.names.index(name) for name in ("gpt4", "vicuna-13b", "gpt35", "bard")
    )
    assert interval.converged
    assert interval.lower[gpt35] < interval.upper[bard]
    assert interval.lower[gpt4] > interval.upper[vicuna]


def tournament(seed: int, *, n_players: int, n_comparisons: int):
    """Random pairs with outcomes drawn from known log-strengths: (winners, losers, truth)."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(0.0, 1.0, size=n_players)
    first = rng.integers(0, n_players, size=n_comparisons)
    second = (first + rng.integers(1, n_players, size=n_comparisons)) % n_players
    first_won = rng.random(n_comparisons) < 1 / (1 + np.exp(truth[second] - truth[first]))
    return np.where(first_won, first, second), np.where(first_won, second, first), truth


def test_bradley_terry_recovers_a_known_ranking():
    winners, losers, truth = tournament(4, n_players=30, n_comparisons=30_000)

    result = bradley_terry(winners, losers, 30)

    assert result.converged
    assert spearmanr(result.scores, truth).statistic >= 0.95
    assert kendalltau(result.scores, truth).statistic >= 0.95
    assert np.abs(result.scores - (truth - truth.mean())).max() < 0.15


def test_bradley_terry_runs_to_convergence_and_counts_its_iterations():
    winners, losers, _ = tournament(8, n_players=10, n_comparisons=2_000)

    result = bradley_terry(winners, losers, 10)
    capped = bradley_terry(winners, losers, 10, max_iter=2)

    assert result.converged
    assert result.iterations > 2
    assert not capped.converged
    assert capped.iterations == 2


def test_a_player_who_never_loses_keeps_a_finite_score():
    result = bradley_terry(np.array([0, 0, 0, 1]), np.array([1, 2, 2, 2]), 3)

    assert result.converged
    assert np.isfinite(result.scores).all()
    assert result.scores[0] > result.scores[1] > result.scores[2]


def test_a_tie_counts_as_half_a_win_each_way():
    with_tie = bradley_terry(np.array([0, 0, 1]), np.array([1, 1, 0]), 2, np.array([1, 0, 0]))
    halves = win_matrix(np.array([0, 0, 1]), np.array([1, 1, 0]), 2, np.array([1, 0, 0]))

    assert halves.tolist() == [[0.0, 1.5], [1.5, 0.0]]
    assert with_tie.scores[0] == pytest.approx(with_tie.scores[1], abs=1e-9)


def test_only_ties_give_equal_scores():
    result = bradley_terry(np.array([0, 1, 2]), np.array([1, 2, 0]), 3, np.ones(3, dtype=bool))

    assert result.scores == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)


def test_bootstrap_is_reproducible_and_brackets_the_fit():
    winners, losers, _ = tournament(2, n_players=12, n_comparisons=3_000)
    fit = bradley_terry(winners, losers, 12)

    first = bootstrap_ci(winners, losers, 12, n_resamples=100, seed=7)
    again = bootstrap_ci(winners, losers, 12, n_resamples=100, seed=7)

    assert first.lower.tolist() == again.lower.tolist()
    assert first.upper.tolist() == again.upper.tolist()
    assert (first.lower < fit.scores).all()
    assert (fit.scores < first.upper).all()


def test_bootstrap_rejects_a_level_outside_zero_and_one():
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci(np.array([0]), np.array([1]), 2, level=95)


def test_a_player_cannot_be_compared_with_itself():
    with pytest.raises(ValueError, match="itself"):
        bradley_terry(np.array([0, 1]), np.array([0, 0]), 2)
