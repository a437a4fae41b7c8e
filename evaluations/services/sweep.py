"""The sweeper of evaluation jobs: code runs, imports and aggregation runs that stopped waiting
for their job are sent again.

A row queued longer than JOB_STUCK_SECONDS never got its job (the message was lost, or never
sent in a broker outage); a row marked running longer than its task may run lost its worker.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import Task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from common.jobs import job_stuck_seconds, jobs_requeue
from evaluations.models import AggregationRun, CodeRun, ImportJob

logger = logging.getLogger(__name__)


def _stuck(task: Task, running: str | None) -> tuple[Q, int]:
    """Rows queued (or running) for too long, but not so long that they are given up."""
    now = timezone.now()
    waited = job_stuck_seconds(task)
    ran = job_stuck_seconds(task, running=True)
    since = now - timedelta(seconds=settings.JOB_SWEEP_WINDOW_SECONDS)
    stuck = Q(
        status="queued",
        created_at__lt=now - timedelta(seconds=waited),
        created_at__gte=since,
    )
    if running is not None:
        stuck |= Q(
            status=running,
            started_at__lt=now - timedelta(seconds=ran),
            started_at__gte=since,
        )
    return stuck, waited


def evaluation_jobs_sweep() -> dict[str, int]:
    """Send again the jobs of code runs, imports and aggregation runs left waiting.

    Returns how many jobs were sent, by task. Parked jobs stay parked (common.jobs).
    """
    from evaluations.tasks import aggregation_run_task, code_run_execute_task, import_job_run_task

    sent = {}
    for name, model, running, task in (
        ("code_run_execute", CodeRun, None, code_run_execute_task),
        ("import_job_run", ImportJob, ImportJob.Status.RUNNING, import_job_run_task),
        ("aggregation_run", AggregationRun, AggregationRun.Status.RUNNING, aggregation_run_task),
    ):
        stuck, seconds = _stuck(task, running)
        ids = model.objects.filter(stuck).order_by("pk").values_list("pk", flat=True)
        sent[name] = jobs_requeue(task, ids, seconds=seconds)
    if any(sent.values()):
        logger.warning("evaluations.jobs_swept", extra=sent)
    return sent
