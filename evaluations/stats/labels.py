"""Aggregate many people's labels into one per item: majority vote, Dawid–Skene, numeric summary.

Categorical labels are integers 0..K-1. Inputs are equal-length integer arrays, one row per
label given: `items[r]` (0..n_items-1) was labelled `labels[r]` by `workers[r]`
(0..n_workers-1), as the service streams them from the database. An item may be labelled
several times by the same worker; every row counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

# Pseudo-counts added to each cell of a worker's confusion counts and to the class counts in
# the M-step: a worker seen on one class only keeps a usable (not 0/1) row for the others,
# and no log-probability is −inf. Small enough not to move the published accuracies.
SMOOTHING = 0.001


@dataclass(frozen=True)
class MajorityVoteResult:
    """Per item: the winning label (-1 where the item has no label) and its share of votes."""

    labels: np.ndarray
    share: np.ndarray
    counts: np.ndarray


@dataclass(frozen=True)
class DawidSkeneResult:
    """The fitted Dawid–Skene model.

    `posterior[i, k]` is P(true label of item i = k); `labels` its argmax (-1 for an item with
    no label); `confusion[w, k, l]` is P(worker w answers l | the truth is k), each row summing
    to 1; `priors[k]` the class shares; `log_likelihood` the mean per label at the end.
    """

    posterior: np.ndarray
    labels: np.ndarray
    confusion: np.ndarray
    priors: np.ndarray
    iterations: int
    converged: bool
    log_likelihood: float


@dataclass(frozen=True)
class NumericSummary:
    """Per item: mean, median, standard deviation (spread, ddof 0) and count of its values.

    Items with no value have count 0 and NaN elsewhere; one value has spread 0.
    """

    mean: np.ndarray
    median: np.ndarray
    std: np.ndarray
    count: np.ndarray


def vote_counts(
    items: np.ndarray, labels: np.ndarray, *, n_items: int, n_classes: int
) -> np.ndarray:
    """Count the votes: counts[i, k] is how many labels k item i received."""
    items, labels = _checked(items, labels, n_items=n_items, n_classes=n_classes)
    flat = np.bincount(items * n_classes + labels, minlength=n_items * n_classes)
    return flat.reshape(n_items, n_classes)


def majority_vote(
    items: np.ndarray, labels: np.ndarray, *, n_items: int, n_classes: int
) -> MajorityVoteResult:
    """Give each item the label most of its labels say.

    Ties go to the smallest label, so the result does not depend on the order of the rows;
    an item with no label gets -1 and a share of NaN. Who labelled does not matter here.
    """
    counts = vote_counts(items, labels, n_items=n_items, n_classes=n_classes)
    totals = counts.sum(axis=1)
    winners = counts.argmax(axis=1)  # argmax takes the first, i.e. smallest, of equal counts
    with np.errstate(divide="ignore", invalid="ignore"):
        share = counts[np.arange(n_items), winners] / totals
    return MajorityVoteResult(labels=np.where(totals > 0, winners, -1), share=share, counts=counts)


def dawid_skene(
    items: np.ndarray,
    workers: np.ndarray,
    labels: np.ndarray,
    *,
    n_items: int,
    n_workers: int,
    n_classes: int,
    max_iter: int = 100,
    tol: float = 1e-5,
) -> DawidSkeneResult:
    """Estimate the true labels and each worker's confusion matrix with Dawid–Skene EM.

    EM starts from the majority vote's vote shares (as Dawid and Skene 1979 and crowd-kit do)
    and stops once the mean log-likelihood per label changes by less than `tol`, or after
    `max_iter` rounds. The M-step adds SMOOTHING pseudo-counts, so a worker never gets a
    probability of exactly 0 or 1. Both steps are one sparse product of the (items × worker
    answers) count matrix with a dense K-column matrix, so a round costs O(labels × K).
    """
    items, labels = _checked(items, labels, n_items=n_items, n_classes=n_classes)
    workers = np.asarray(workers, dtype=np.int64)
    if workers.shape != items.shape:
        raise ValueError("items, workers and labels must have the same length")
    if workers.size and (workers.min() < 0 or workers.max() >= n_workers):
        raise ValueError("worker indices must be in 0..n_workers-1")
    answers = n_workers * n_classes
    # counts[i, w·K + l]: how often worker w answered l on item i.
    counts = sparse.csr_matrix(
        (np.ones(items.size), (items, workers * n_classes + labels)), shape=(n_items, answers)
    )
    counts.sum_duplicates()
    counts_by_answer = counts.T.tocsr()
    has_label = np.diff(counts.indptr) > 0
    n_labels = max(items.size, 1)

    votes = vote_counts(items, labels, n_items=n_items, n_classes=n_classes).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        posterior = votes / votes.sum(axis=1, keepdims=True)
    posterior[~has_label] = 1.0 / n_classes

    previous = -np.inf
    converged = False
    iterations = 0
    log_likelihood = -np.inf
    while iterations < max_iter:
        iterations += 1
        priors, log_confusion = _m_step(posterior, counts_by_answer, n_workers, n_classes)
        # log P(item's labels, truth = k) = log prior_k + Σ over its labels log π_w[k, l].
        joint = counts @ log_confusion.reshape(answers, n_classes) + np.log(priors)
        top = joint.max(axis=1, keepdims=True)
        likelihood = np.exp(joint - top)
        norm = likelihood.sum(axis=1, keepdims=True)
        posterior = likelihood / norm
        log_likelihood = float((np.log(norm) + top)[has_label].sum()) / n_labels
        if abs(log_likelihood - previous) < tol:
            converged = True
            break
        previous = log_likelihood

    priors, log_confusion = _m_step(posterior, counts_by_answer, n_workers, n_classes)
    return DawidSkeneResult(
        posterior=posterior,
        labels=np.where(has_label, posterior.argmax(axis=1), -1),
        confusion=np.exp(log_confusion).transpose(0, 2, 1),
        priors=priors,
        iterations=iterations,
        converged=converged,
        log_likelihood=log_likelihood,
    )


def _m_step(
    posterior: np.ndarray, counts_by_answer: sparse.csr_matrix, n_workers: int, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Class priors and log confusion, laid out as [worker, answer l, truth k]."""
    # expected[w·K + l, k]: expected number of times worker w answered l when the truth was k.
    expected = np.asarray(counts_by_answer @ posterior).reshape(n_workers, n_classes, n_classes)
    expected += SMOOTHING
    confusion = expected / expected.sum(axis=1, keepdims=True)
    priors = posterior.sum(axis=0) + SMOOTHING
    return priors / priors.sum(), np.log(confusion)


def numeric_summary(items: np.ndarray, values: np.ndarray, *, n_items: int) -> NumericSummary:
    """Summarise numeric answers per item: mean, median, spread and count.

    One sort of (item, value) finds every median at once, so it stays O(n log n) for millions
    of values.
    """
    items = np.asarray(items, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    if items.shape != values.shape:
        raise ValueError("items and values must have the same length")
    count = np.bincount(items, minlength=n_items)
    sums = np.bincount(items, weights=values, minlength=n_items)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = sums / count
        squares = np.bincount(items, weights=(values - mean[items]) ** 2, minlength=n_items)
        std = np.sqrt(squares / count)
    order = np.lexsort((values, items))
    ordered = values[order]
    starts = np.concatenate(([0], np.cumsum(count)[:-1]))
    present = count > 0
    low = starts[present] + (count[present] - 1) // 2
    high = starts[present] + count[present] // 2
    median = np.full(n_items, np.nan)
    median[present] = (ordered[low] + ordered[high]) / 2
    return NumericSummary(mean=mean, median=median, std=std, count=count)


def _checked(
    items: np.ndarray, labels: np.ndarray, *, n_items: int, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    items, labels = np.asarray(items, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    if items.shape != labels.shape or items.ndim != 1:
        raise ValueError("items and labels must be one-dimensional and of the same length")
    if items.size and (items.min() < 0 or items.max() >= n_items):
        raise ValueError("item indices must be in 0..n_items-1")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError("labels must be in 0..n_classes-1")
    return items, labels
