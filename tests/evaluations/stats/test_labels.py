"""Majority vote, Dawid–Skene and numeric summaries against published figures and known truth.

The four categorical sets and f201 are those of Zheng et al. (PVLDB 2017); the accuracies to
match are crowd-kit's (Ustalov et al., JOSS 2024), as shared/data/crowd_labels/README.md gives.
"""

import csv
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest

from evaluations.stats import dawid_skene, majority_vote, numeric_summary
from tests.evaluations.stats import shared_data

# folder: (majority vote, Dawid–Skene) accuracy on the items with a true label.
PUBLISHED = {
    "d_jn-product": (0.897, 0.940),
    "d_sentiment": (0.932, 0.960),
    "s4_Relevance": (0.536, 0.615),
    "s5_AdultContent": (0.763, 0.748),
}


@dataclass(frozen=True)
class CrowdLabels:
    items: np.ndarray
    workers: np.ndarray
    answers: np.ndarray
    n_items: int
    n_workers: int
    truth: np.ndarray  # per item, NaN where unknown


@cache
def crowd_labels(folder: str) -> CrowdLabels:
    """One of the crowd_labels sets as index arrays (every row kept, duplicates too)."""
    path = shared_data("crowd_labels") / folder
    with (path / "answer.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    with (path / "truth.csv").open(newline="") as handle:
        truth = {row[0]: float(row[1]) for row in list(csv.reader(handle))[1:]}
    names, items = np.unique([row[0] for row in rows], return_inverse=True)
    people, workers = np.unique([row[1] for row in rows], return_inverse=True)
    return CrowdLabels(
        items=items,
        workers=workers,
        answers=np.array([float(row[2]) for row in rows]),
        n_items=names.size,
        n_workers=people.size,
        truth=np.array([truth.get(name, np.nan) for name in names]),
    )


def accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    known = ~np.isnan(truth)
    return float((predicted[known] == truth[known]).mean())


@pytest.mark.parametrize(("folder", "published"), [(f, p[0]) for f, p in PUBLISHED.items()])
def test_majority_vote_matches_published_accuracy(folder, published):
    data = crowd_labels(folder)
    labels = data.answers.astype(int)

    result = majority_vote(data.items, labels, n_items=data.n_items, n_classes=labels.max() + 1)

    assert accuracy(result.labels, data.truth) == pytest.approx(published, abs=0.001)


@pytest.mark.parametrize(("folder", "published"), [(f, p[1]) for f, p in PUBLISHED.items()])
def test_dawid_skene_matches_published_accuracy(folder, published):
    data = crowd_labels(folder)
    labels = data.answers.astype(int)

    result = dawid_skene(
        data.items,
        data.workers,
        labels,
        n_items=data.n_items,
        n_workers=data.n_workers,
        n_classes=labels.max() + 1,
    )

    assert result.converged
    assert accuracy(result.labels, data.truth) == pytest.approx(published, abs=0.01)


def test_numeric_summary_matches_published_errors_on_emotion_ratings():
    data = crowd_labels("f201_Emotion_FULL")

    summary = numeric_summary(data.items, data.answers, n_items=data.n_items)

    errors = {
        name: values - data.truth
        for name, values in (("mean", summary.mean), ("median", summary.median))
    }
    assert np.abs(errors["mean"]).mean() == pytest.approx(12.02, abs=0.005)
    assert np.sqrt((errors["mean"] ** 2).mean()) == pytest.approx(17.84, abs=0.005)
    assert np.abs(errors["median"]).mean() == pytest.approx(13.53, abs=0.005)
    assert np.sqrt((errors["median"] ** 2).mean()) == pytest.approx(21.26, abs=0.005)
    assert summary.count.tolist() == [10] * 700


def synthetic_labels(seed: int, *, n_items: int, n_workers: int, n_classes: int, per_item: int):
    """Labels drawn from known confusion matrices: (items, workers, labels, truth, confusion).

    Each worker's accuracy is drawn in [0.3, 0.95] and their errors spread unevenly, and each
    item is labelled by `per_item` different workers.
    """
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_classes, size=n_items)
    accuracy_of = rng.uniform(0.3, 0.95, size=n_workers)
    errors = rng.dirichlet(np.ones(n_classes - 1), size=(n_workers, n_classes))
    confusion = np.empty((n_workers, n_classes, n_classes))
    for k in range(n_classes):
        others = [c for c in range(n_classes) if c != k]
        confusion[:, k, k] = accuracy_of
        confusion[:, k, others] = errors[:, k] * (1 - accuracy_of)[:, None]
    items = np.repeat(np.arange(n_items), per_item)
    start = rng.integers(0, n_workers, size=n_items)
    workers = ((start[:, None] + np.arange(per_item)) % n_workers).ravel()
    drawn = rng.random(items.size)[:, None] > confusion[workers, truth[items]].cumsum(axis=1)
    labels = np.minimum(drawn.sum(axis=1), n_classes - 1)
    return items, workers, labels, truth, confusion


def test_dawid_skene_recovers_known_confusion_matrices():
    items, workers, labels, truth, confusion = synthetic_labels(
        11, n_items=6000, n_workers=20, n_classes=3, per_item=5
    )

    result = dawid_skene(items, workers, labels, n_items=6000, n_workers=20, n_classes=3)
    voted = majority_vote(items, labels, n_items=6000, n_classes=3)

    # What someone who knew the true labels would count: the best any method can estimate.
    counted = np.zeros((20, 3, 3))
    np.add.at(counted, (workers, truth[items], labels), 1)
    counted /= counted.sum(axis=2, keepdims=True)
    assert result.converged
    assert np.abs(result.confusion - counted).mean() < 0.01
    assert np.abs(result.confusion - counted).max() < 0.05
    assert np.abs(result.confusion - confusion).mean() < 0.02
    assert np.abs(result.confusion - confusion).max() < 0.08
    assert np.allclose(result.confusion.sum(axis=2), 1.0)
    assert (result.labels == truth).mean() > (voted.labels == truth).mean() + 0.02


def test_dawid_skene_posterior_rows_are_distributions():
    items, workers, labels, _, _ = synthetic_labels(
        5, n_items=300, n_workers=10, n_classes=4, per_item=3
    )

    result = dawid_skene(items, workers, labels, n_items=300, n_workers=10, n_classes=4)

    assert np.allclose(result.posterior.sum(axis=1), 1.0)
    assert np.allclose(result.priors.sum(), 1.0)
    assert result.labels.tolist() == result.posterior.argmax(axis=1).tolist()


def test_dawid_skene_gives_items_without_labels_minus_one_and_the_priors():
    items, workers, labels = np.array([0, 0, 2, 2]), np.array([0, 1, 0, 1]), np.array([1, 1, 0, 0])

    result = dawid_skene(items, workers, labels, n_items=3, n_workers=2, n_classes=2)

    assert result.labels.tolist() == [1, -1, 0]
    assert result.posterior[1] == pytest.approx(result.priors, abs=1e-6)


def test_majority_vote_breaks_ties_towards_the_smallest_label():
    items = np.array([0, 0, 1, 1, 1, 1])
    labels = np.array([2, 1, 3, 0, 3, 0])

    result = majority_vote(items, labels, n_items=3, n_classes=4)

    assert result.labels.tolist() == [1, 0, -1]
    assert result.share[:2].tolist() == [0.5, 0.5]
    assert np.isnan(result.share[2])


def test_majority_vote_share_is_the_winners_fraction():
    result = majority_vote(np.array([0, 0, 0, 0]), np.array([2, 2, 2, 0]), n_items=1, n_classes=3)

    assert result.labels.tolist() == [2]
    assert result.share.tolist() == [0.75]


def test_majority_vote_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match="labels must be in"):
        majority_vote(np.array([0]), np.array([3]), n_items=1, n_classes=3)


def test_numeric_summary_of_odd_even_and_empty_items():
    items = np.array([0, 0, 0, 1, 1, 1, 1, 3])
    values = np.array([5.0, 1.0, 3.0, 4.0, 1.0, 2.0, 10.0, 7.0])

    summary = numeric_summary(items, values, n_items=4)

    assert summary.median[[0, 1, 3]].tolist() == [3.0, 3.0, 7.0]
    assert summary.mean[[0, 1, 3]].tolist() == [3.0, 4.25, 7.0]
    assert summary.std[[0, 3]].tolist() == pytest.approx([np.sqrt(8 / 3), 0.0])
    assert summary.count.tolist() == [3, 4, 0, 1]
    assert np.isnan([summary.mean[2], summary.median[2], summary.std[2]]).all()
