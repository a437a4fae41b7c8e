"""Celery entry points of evaluation work: by id, one service each, idempotent."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from common.jobs import Job, JobBusy
from evaluations import services

RETRY = {
    "base": Job,  # parked after JOB_MAX_DEATHS runs that killed their worker
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name="evaluations.import_job_run", soft_time_limit=1800, time_limit=1900, **RETRY)
def import_job_run_task(job_id: int) -> None:
    # Long: a million lines take about a minute; the limits stay under the visibility timeout.
    services.import_job_run(job_id=job_id)


# A delivery that finds its job running in another worker retries later (common.jobs.JobBusy).
BUSY_RETRY = {**RETRY, "autoretry_for": (OperationalError, JobBusy)}


@shared_task(name="evaluations.code_run_execute", **BUSY_RETRY)
def code_run_execute_task(run_id: int) -> None:
    services.code_run_execute(run_id=run_id)


@shared_task(name="evaluations.assignments_expire", **RETRY)
def assignments_expire_task() -> None:
    services.assignments_expire()


@shared_task(
    name="evaluations.aggregation_run", soft_time_limit=1800, time_limit=1900, **BUSY_RETRY
)
def aggregation_run_task(run_id: int) -> None:
    services.aggregation_run(run_id=run_id)


@shared_task(name="evaluations.aggregations_due", **RETRY)
def aggregations_due_task() -> None:
    services.aggregations_due()


@shared_task(name="evaluations.standings_update", soft_time_limit=1800, time_limit=1900, **RETRY)
def standings_update_task() -> None:
    services.standings_update()


@shared_task(name="evaluations.reviews_expire", **RETRY)
def reviews_expire_task() -> None:
    services.reviews_expire()


@shared_task(name="evaluations.jobs_sweep", **RETRY)
def evaluation_jobs_sweep_task() -> dict[str, int]:
    from evaluations.services.sweep import evaluation_jobs_sweep

    return evaluation_jobs_sweep()
