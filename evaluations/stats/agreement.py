"""Agreement between raters: Krippendorff's α, Cohen's κ and Fleiss' κ.

Every function takes numpy arrays (the service streams them from the database) and returns a
float. They are checked against published values in tests/evaluations/stats/test_agreement.py.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import sparse

Level = Literal["nominal", "ordinal", "interval", "ratio"]
Weights = Literal["linear", "quadratic"] | None


def ratings_matrix(
    items: np.ndarray,
    raters: np.ndarray,
    values: np.ndarray,
    *,
    n_items: int | None = None,
    n_raters: int | None = None,
) -> np.ndarray:
    """Build the (raters × items) float matrix that `krippendorff_alpha` takes, NaN where missing.

    `items` and `raters` are integer indices (0..n-1); if a rater rated an item twice, the last
    value wins. For very many items prefer `krippendorff_alpha_long`, which never builds it.
    """
    items, raters = np.asarray(items, dtype=np.int64), np.asarray(raters, dtype=np.int64)
    n_items = int(items.max()) + 1 if n_items is None else n_items
    n_raters = int(raters.max()) + 1 if n_raters is None else n_raters
    matrix = np.full((n_raters, n_items), np.nan)
    matrix[raters, items] = np.asarray(values, dtype=float)
    return matrix


def krippendorff_alpha(units: np.ndarray, level: Level = "nominal") -> float:
    """Krippendorff's α of a (raters × units) matrix of values, NaN for a missing value.

    Uses the coincidence-matrix formulation (Krippendorff 2011), so missing values, any
    number of raters and the four levels of measurement are handled alike; units with fewer
    than two values are not pairable and are dropped. Returns NaN when nothing is pairable
    or every pairable value is the same (α is undefined then).
    """
    units = np.asarray(units, dtype=float)
    present = ~np.isnan(units)
    # Only which unit a value belongs to matters for α, not who gave it.
    unit_of = np.nonzero(present)[1]
    return krippendorff_alpha_long(unit_of, units[present], level)


def krippendorff_alpha_long(
    items: np.ndarray, values: np.ndarray, level: Level = "nominal"
) -> float:
    """Krippendorff's α from long arrays: one row per value, `items[i]` the unit of `values[i]`.

    The form the service streams from the database; same result as `krippendorff_alpha` on the
    matrix. Cost is linear in the number of values plus V² for V distinct values (the
    coincidence matrix), so it suits rating scales and labels, not free-form floats.
    """
    items = np.asarray(items, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    keep = ~np.isnan(values)
    items, values = items[keep], values[keep]
    scale, value_index = np.unique(values, return_inverse=True)
    _, unit_index = np.unique(items, return_inverse=True)
    n_units = int(unit_index.max()) + 1 if unit_index.size else 0
    per_unit = np.bincount(unit_index, minlength=n_units)
    pairable = per_unit[unit_index] >= 2
    if not pairable.any():
        return float("nan")
    unit_index, value_index = unit_index[pairable], value_index[pairable]
    # counts[u, c]: how often value c was given to unit u (sparse: units × distinct values).
    counts = sparse.csr_matrix(
        (np.ones(unit_index.size), (unit_index, value_index)), shape=(n_units, scale.size)
    )
    weight = 1.0 / np.maximum(per_unit - 1, 1)
    weighted = sparse.diags(weight) @ counts
    # o[c, k] = Σ_u (n_uc·n_uk − [c = k]·n_uc) / (m_u − 1): pairs of values within a unit.
    coincidences = np.asarray((counts.T @ weighted).todense())
    coincidences -= np.diag(np.asarray(weighted.sum(axis=0)).ravel())
    marginals = coincidences.sum(axis=1)
    total = marginals.sum()
    delta = _distance(scale, marginals, level)
    observed = float((coincidences * delta).sum())
    expected = float((np.outer(marginals, marginals) * delta).sum()) / (total - 1)
    if expected == 0:
        return float("nan")
    return 1.0 - observed / expected


def _distance(scale: np.ndarray, marginals: np.ndarray, level: Level) -> np.ndarray:
    """The squared difference function δ²(c, k) over the distinct values, for a level."""
    if level == "nominal":
        return 1.0 - np.eye(scale.size)
    if level == "interval":
        return np.subtract.outer(scale, scale) ** 2
    if level == "ratio":
        sums = np.add.outer(scale, scale)
        with np.errstate(divide="ignore", invalid="ignore"):
            distance = (np.subtract.outer(scale, scale) / sums) ** 2
        return np.where(sums == 0, 0.0, distance)
    if level == "ordinal":
        # Ranks, not values, count: δ(c, k) = Σ_{g=c..k} n_g − (n_c + n_k) / 2, over the
        # values that were observed (in the order of the scale).
        cumulative = np.cumsum(marginals)
        between = np.subtract.outer(cumulative, cumulative - marginals)  # right for c ≥ k
        order = np.arange(scale.size)
        between = np.where(np.greater_equal.outer(order, order), between, between.T)
        return (between - np.add.outer(marginals, marginals) / 2) ** 2
    raise ValueError(f"unknown level of measurement: {level!r}")


def contingency_table(first: np.ndarray, second: np.ndarray, n_classes: int) -> np.ndarray:
    """Count how two raters labelled the same units: table[a, b] units labelled a by the first
    and b by the second (labels are 0..n_classes-1)."""
    first, second = np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)
    flat = np.bincount(first * n_classes + second, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def cohen_kappa(table: np.ndarray, weights: Weights = None) -> float:
    """Cohen's κ of two raters from their (K × K) contingency table, optionally weighted.

    Linear weights credit 1 − |a − b| / (K − 1) for a disagreement, quadratic ones
    1 − (a − b)² / (K − 1)², so the categories must be in scale order when weighting.
    """
    table = np.asarray(table, dtype=float)
    size = table.shape[0]
    if table.shape != (size, size):
        raise ValueError("the contingency table must be square")
    total = table.sum()
    if total == 0:
        return float("nan")
    agreement = _kappa_weights(size, weights)
    proportions = table / total
    observed = float((agreement * proportions).sum())
    chance = float((agreement * np.outer(proportions.sum(axis=1), proportions.sum(axis=0))).sum())
    if chance == 1:
        return float("nan")
    return (observed - chance) / (1 - chance)


def cohen_kappa_labels(
    first: np.ndarray, second: np.ndarray, n_classes: int, weights: Weights = None
) -> float:
    """Cohen's κ of two raters from their label arrays (aligned by unit)."""
    return cohen_kappa(contingency_table(first, second, n_classes), weights)


def _kappa_weights(size: int, weights: Weights) -> np.ndarray:
    if weights is None:
        return np.eye(size)
    steps = np.abs(np.subtract.outer(np.arange(size), np.arange(size))) / max(size - 1, 1)
    if weights == "linear":
        return 1.0 - steps
    if weights == "quadratic":
        return 1.0 - steps**2
    raise ValueError(f"unknown weights: {weights!r}")


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' κ from a (units × categories) matrix of how many raters chose each category.

    Units may have different numbers of raters (missing ratings), as in Gwet's handbook and
    its irrCAC package: observed agreement averages over units with at least two ratings,
    and the category shares average each unit's shares over all units with a rating.
    """
    counts = np.asarray(counts, dtype=float)
    per_unit = counts.sum(axis=1)
    rated = per_unit >= 1
    pairable = per_unit >= 2
    if not pairable.any():
        return float("nan")
    agreeing = (counts[pairable] * (counts[pairable] - 1)).sum(axis=1)
    observed = float((agreeing / (per_unit[pairable] * (per_unit[pairable] - 1))).mean())
    shares = (counts[rated] / per_unit[rated, None]).mean(axis=0)
    chance = float((shares**2).sum())
    if chance == 1:
        return float("nan")
    return (observed - chance) / (1 - chance)


def category_counts(
    items: np.ndarray, labels: np.ndarray, *, n_items: int, n_classes: int
) -> np.ndarray:
    """Build the (units × categories) counts that `fleiss_kappa` takes from long label arrays."""
    items, labels = np.asarray(items, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    flat = np.bincount(items * n_classes + labels, minlength=n_items * n_classes)
    return flat.reshape(n_items, n_classes)
