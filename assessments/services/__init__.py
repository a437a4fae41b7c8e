"""Writes of the assessments app."""

from assessments.services.attempts import (
    Eligibility,
    assessment_eligibility,
    assessment_get_current,
    attempt_answer,
    attempt_expire,
    attempt_get_own_for_update,
    attempt_start,
    attempt_submit,
    attempts_submit_expired,
)
from assessments.services.content import LoadReport, assessment_content_load
from assessments.services.grading import (
    grader_tracks,
    grading_claims_release_expired,
    grading_rubric,
    grading_task_claim_next,
    grading_task_get_for_grader,
    grading_task_submit,
)
from assessments.services.scoring import (
    attempt_decide,
    attempt_decision_mail_send,
    attempt_score,
    item_code_score,
)

__all__ = [
    "Eligibility",
    "LoadReport",
    "assessment_content_load",
    "assessment_eligibility",
    "assessment_get_current",
    "attempt_answer",
    "attempt_decide",
    "attempt_decision_mail_send",
    "attempt_expire",
    "attempt_get_own_for_update",
    "attempt_score",
    "attempt_start",
    "attempt_submit",
    "attempts_submit_expired",
    "grader_tracks",
    "grading_claims_release_expired",
    "grading_rubric",
    "grading_task_claim_next",
    "grading_task_get_for_grader",
    "grading_task_submit",
    "item_code_score",
]
