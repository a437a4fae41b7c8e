"""The statistics of the quality layer: agreement, label aggregation, pairwise ranking, posteriors.

Plain numpy/scipy with no Django import, so it runs in a worker, a notebook or a benchmark
alike. Inputs are numpy arrays of integer indices (items, workers, players, labels 0..K-1) as
the service streams them from the database; outputs are small frozen dataclasses of arrays.
Each figure is checked against published values in tests/evaluations/stats/.
"""

from evaluations.stats.agreement import (
    category_counts,
    cohen_kappa,
    cohen_kappa_labels,
    contingency_table,
    fleiss_kappa,
    krippendorff_alpha,
    krippendorff_alpha_long,
    ratings_matrix,
)
from evaluations.stats.labels import (
    DawidSkeneResult,
    MajorityVoteResult,
    NumericSummary,
    dawid_skene,
    majority_vote,
    numeric_summary,
    vote_counts,
)
from evaluations.stats.pairwise import (
    BootstrapInterval,
    BradleyTerryResult,
    bootstrap_ci,
    bradley_terry,
    win_matrix,
)
from evaluations.stats.posterior import BetaPosterior, beta_posterior, beta_posteriors

__all__ = [
    "BetaPosterior",
    "BootstrapInterval",
    "BradleyTerryResult",
    "DawidSkeneResult",
    "MajorityVoteResult",
    "NumericSummary",
    "beta_posterior",
    "beta_posteriors",
    "bootstrap_ci",
    "bradley_terry",
    "category_counts",
    "cohen_kappa",
    "cohen_kappa_labels",
    "contingency_table",
    "dawid_skene",
    "fleiss_kappa",
    "krippendorff_alpha",
    "krippendorff_alpha_long",
    "majority_vote",
    "numeric_summary",
    "ratings_matrix",
    "vote_counts",
    "win_matrix",
]
