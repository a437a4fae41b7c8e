"""Krippendorff's α, Cohen's κ and Fleiss' κ against published values (shared/data/agreement)."""

import csv
from pathlib import Path

import numpy as np
import pytest

from evaluations.stats import (
    category_counts,
    cohen_kappa,
    cohen_kappa_labels,
    contingency_table,
    fleiss_kappa,
    krippendorff_alpha,
    krippendorff_alpha_long,
    ratings_matrix,
)
from tests.evaluations.stats import shared_data

# Gwet's data sets as irrCAC 0.4.4's tests assert them: (Fleiss κ, Krippendorff α nominal).
IRRCAC = {
    "raw_4raters": (0.761, 0.743),
    "raw_5observers": (0.458, 0.481),
    "raw_g1g2": (0.657, 0.632),
    "raw_gender": (0.129, 0.143),
    "raw_ben_gerry": (0.649, 0.665),
}


def read_units(path: Path) -> np.ndarray:
    """A (raters × units) matrix of category codes from a file with one unit a row.

    The categories (numbers or letters) are coded in sorted order; blank cells are NaN.
    """
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header, rows = rows[0], rows[1:]
    first = max(header.index(name) for name in ("unit", "Units") if name in header) + 1
    cells = [row[first:] for row in rows]
    categories = sorted({cell for row in cells for cell in row if cell})
    numeric = all(cell.replace(".", "").isdigit() for cell in categories)
    code = {cell: float(cell) if numeric else index for index, cell in enumerate(categories)}
    return np.array([[code[cell] if cell else np.nan for cell in row] for row in cells]).T


def counts_of(units: np.ndarray) -> np.ndarray:
    """(units × categories) counts from a matrix of category codes 0..K-1."""
    rater, unit = np.nonzero(~np.isnan(units))
    labels = units[rater, unit].astype(int)
    return category_counts(unit, labels, n_items=units.shape[1], n_classes=labels.max() + 1)


def read_table(name: str) -> np.ndarray:
    path = shared_data("agreement") / "irrCAC_gwet" / f"{name}.csv"
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    return np.array([[float(cell) for cell in row[1:]] for row in rows])


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_alpha_matches_krippendorff_2011_example(level, published):
    folder = shared_data("agreement") / "krippendorff_examples"
    units = read_units(folder / "krippendorff2011_4observers_12units.csv")

    assert round(krippendorff_alpha(units, level), 3) == published


@pytest.mark.parametrize(("level", "published"), [("nominal", 0.691358), ("interval", 0.810845)])
def test_alpha_matches_wikipedia_example(level, published):
    folder = shared_data("agreement") / "krippendorff_examples"
    units = read_units(folder / "wikipedia_3coders_15units.csv")

    assert round(krippendorff_alpha(units, level), 6) == published


@pytest.mark.parametrize(("name", "published"), [(n, a) for n, (_, a) in IRRCAC.items()])
def test_nominal_alpha_matches_irrcac(name, published):
    units = read_units(shared_data("agreement") / "irrCAC_gwet" / f"{name}.csv")

    assert round(krippendorff_alpha(units, "nominal"), 3) == published


@pytest.mark.parametrize(("name", "published"), [(n, k) for n, (k, _) in IRRCAC.items()])
def test_fleiss_kappa_matches_irrcac(name, published):
    units = read_units(shared_data("agreement") / "irrCAC_gwet" / f"{name}.csv")

    assert round(fleiss_kappa(counts_of(units)), 3) == published


@pytest.mark.parametrize(
    ("weights", "published"), [(None, 0.796), ("linear", 0.843), ("quadratic", 0.892)]
)
def test_cohen_kappa_matches_abstractors_table(weights, published):
    table = read_table("table_cont3x3abstractors")

    assert round(cohen_kappa(table, weights), 3) == published


def test_cohen_kappa_matches_diagnosis_table():
    assert round(cohen_kappa(read_table("table_cont4x4diagnosis")), 3) == 0.432


def test_cohen_kappa_from_labels_equals_kappa_of_their_table():
    first = np.array([0, 0, 1, 1, 2, 2, 2, 1, 0, 2])
    second = np.array([0, 1, 1, 1, 2, 2, 0, 1, 0, 2])

    table = contingency_table(first, second, 3)

    assert table.tolist() == [[2, 1, 0], [0, 3, 0], [1, 0, 3]]
    assert cohen_kappa_labels(first, second, 3, "linear") == cohen_kappa(table, "linear")


def test_long_form_alpha_equals_matrix_alpha():
    rng = np.random.default_rng(3)
    items = rng.integers(0, 50, size=400)
    raters = rng.integers(0, 8, size=400)
    # One value per (item, rater), as in the matrix: keep the last of repeated pairs.
    _, last = np.unique((items * 8 + raters)[::-1], return_index=True)
    keep = 399 - last
    items, raters = items[keep], raters[keep]
    values = rng.integers(1, 6, size=keep.size).astype(float)

    units = ratings_matrix(items, raters, values, n_items=50, n_raters=8)

    for level in ("nominal", "ordinal", "interval", "ratio"):
        assert krippendorff_alpha_long(items, values, level) == pytest.approx(
            krippendorff_alpha(units, level), abs=1e-12
        )


def test_alpha_ignores_units_with_a_single_value():
    units = np.array([[1, 2, 3, 1, np.nan], [1, 2, 2, 1, 4.0]])
    without = units[:, :4]

    assert krippendorff_alpha(units, "interval") == krippendorff_alpha(without, "interval")


def test_alpha_is_one_when_everyone_agrees():
    units = np.array([[1, 2, 3, 3], [1, 2, 3, 3], [1, np.nan, 3, 3]])

    assert krippendorff_alpha(units, "ordinal") == 1.0


def test_alpha_is_undefined_without_pairable_values():
    assert np.isnan(krippendorff_alpha(np.array([[1.0, np.nan], [np.nan, 2.0]]), "nominal"))
