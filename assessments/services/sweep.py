"""The sweeper of assessment jobs: attempts whose scoring or decision stopped are sent again.

A submitted attempt waits for jobs, and its rows say which: an item still open waits for
attempt_score, a code item awaiting the sandbox for item_code_score, and an attempt whose items
are all scored for attempt_decide (items awaiting graders wait for people, not for a job). Its
last activity is the newest step of its scoring trail: every job that changes it writes one.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from assessments.models import Attempt, AttemptItem
from common.jobs import job_stuck_seconds, jobs_requeue

logger = logging.getLogger(__name__)


def attempt_jobs_sweep() -> dict[str, int]:
    """Send again the jobs of submitted attempts idle for longer than JOB_STUCK_SECONDS (and
    not longer than JOB_SWEEP_WINDOW_SECONDS).

    Returns how many jobs were sent, by task. Parked jobs stay parked (common.jobs).
    """
    from assessments.tasks import attempt_decide_task, attempt_score_task, item_code_score_task

    seconds = job_stuck_seconds(attempt_score_task)
    now = timezone.now()
    before = now - timedelta(seconds=seconds)
    since = now - timedelta(seconds=settings.JOB_SWEEP_WINDOW_SECONDS)
    stuck = list(
        Attempt.objects.filter(status=Attempt.Status.SUBMITTED, submitted_at__lt=before)
        .annotate(last=Max("events__created_at"))
        .filter(Q(last__lt=before, last__gte=since) | Q(last__isnull=True, submitted_at__gte=since))
        .values_list("pk", flat=True)
    )
    items = AttemptItem.objects.filter(attempt=OuterRef("pk"))
    attempts = Attempt.objects.filter(pk__in=stuck)
    to_score = attempts.filter(Exists(items.filter(status=AttemptItem.Status.OPEN)))
    to_decide = attempts.exclude(Exists(items.exclude(status=AttemptItem.Status.SCORED)))
    in_sandbox = AttemptItem.objects.filter(
        attempt_id__in=stuck, status=AttemptItem.Status.AWAITING_SANDBOX
    )
    sent = {
        "attempt_score": jobs_requeue(
            attempt_score_task, to_score.values_list("pk", flat=True), seconds=seconds
        ),
        "item_code_score": jobs_requeue(
            item_code_score_task, in_sandbox.values_list("pk", flat=True), seconds=seconds
        ),
        "attempt_decide": jobs_requeue(
            attempt_decide_task, to_decide.values_list("pk", flat=True), seconds=seconds
        ),
    }
    if any(sent.values()):
        logger.warning("attempts.jobs_swept", extra={"stuck": len(stuck), **sent})
    return sent
