"""Celery entry points of assessments: by id, one service each, idempotent."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task
from django.db import OperationalError

from assessments import services
from common.jobs import Job

RETRY = {
    "base": Job,  # parked after JOB_MAX_DEATHS runs that killed their worker
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name="assessments.attempt_score", **RETRY)
def attempt_score_task(attempt_id: int) -> None:
    services.attempt_score(attempt_id=attempt_id)


@shared_task(name="assessments.item_code_score", **RETRY)
def item_code_score_task(item_id: int) -> None:
    services.item_code_score(item_id=item_id)


@shared_task(name="assessments.attempt_decide", **RETRY)
def attempt_decide_task(attempt_id: int) -> None:
    services.attempt_decide(attempt_id=attempt_id)


@shared_task(
    name="assessments.email_decision",
    autoretry_for=(OperationalError, SMTPException, ConnectionError),
    retry_backoff=True,
    max_retries=8,
)
def attempt_decision_mail_task(attempt_id: int) -> None:
    services.attempt_decision_mail_send(attempt_id=attempt_id)


@shared_task(name="assessments.attempts_submit_expired", **RETRY)
def attempts_submit_expired_task() -> None:
    services.attempts_submit_expired()


@shared_task(name="assessments.grading_claims_release_expired", **RETRY)
def grading_claims_release_expired_task() -> None:
    services.grading_claims_release_expired()


@shared_task(name="assessments.jobs_sweep", **RETRY)
def attempt_jobs_sweep_task() -> dict[str, int]:
    from assessments.services.sweep import attempt_jobs_sweep

    return attempt_jobs_sweep()
