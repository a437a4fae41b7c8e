"""The evaluations app's models, by sub-domain: the work itself, and its quality."""

from evaluations.models.quality import (
    EXPERT_PERMISSION,
    PEER_PERMISSION,
    AggregateResult,
    AggregationRun,
    Appeal,
    GoldAnswer,
    QualityAction,
    QualitySettings,
    RationaleBand,
    Review,
)
from evaluations.models.work import (
    Assignment,
    CodeRun,
    EvaluationForm,
    EvaluationSettings,
    ImportJob,
    PreLabel,
    Submission,
    Task,
)

__all__ = [
    "EXPERT_PERMISSION",
    "PEER_PERMISSION",
    "AggregateResult",
    "AggregationRun",
    "Appeal",
    "Assignment",
    "CodeRun",
    "EvaluationForm",
    "EvaluationSettings",
    "GoldAnswer",
    "ImportJob",
    "PreLabel",
    "QualityAction",
    "QualitySettings",
    "RationaleBand",
    "Review",
    "Submission",
    "Task",
]
