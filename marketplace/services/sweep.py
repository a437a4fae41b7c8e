"""The sweeper of marketplace jobs: earnings of closed sessions and payout notices whose job
never ran are sent again.

A closed hourly session is owed an earning, keyed by the session, and a held or sent payout a
notice, recorded in its audit when mailed; a session or payout that has waited longer than
JOB_STUCK_SECONDS without one lost its job. Payout batches left building are not swept here:
the hourly payout-batches-build beat job finishes every batch not ready.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from common.jobs import job_stuck_seconds, jobs_requeue
from marketplace.models import EarningEntry, Payout, PayoutAudit, Project, WorkSession
from marketplace.services.ledger import SESSION_KEY, session_pay

logger = logging.getLogger(__name__)


def marketplace_jobs_sweep() -> dict[str, int]:
    """Send again the earning jobs of closed sessions and the notice jobs of payouts left
    waiting. Returns how many jobs were sent, by task. Parked jobs stay parked (common.jobs)."""
    from marketplace.tasks import earning_from_session_task, payout_notice_send_task

    now = timezone.now()
    since = now - timedelta(seconds=settings.JOB_SWEEP_WINDOW_SECONDS)

    # A session closed at its last heartbeat ends before it is closed: waiting from its end is
    # an upper bound, and at worst sends a job that is already on its way (it finds the entry).
    seconds = job_stuck_seconds(earning_from_session_task)
    before = now - timedelta(seconds=seconds)
    earned = EarningEntry.objects.filter(
        idempotency_key=Concat(Value(SESSION_KEY), Cast(OuterRef("pk"), CharField()))
    )
    sessions = (
        WorkSession.objects.filter(
            pay_model=Project.PayModel.HOURLY, ended_at__lt=before, ended_at__gte=since
        )
        .exclude(Exists(earned))
        .only("pk", "started_at", "ended_at", "rate", "multiplier")
        .order_by("pk")
    )
    sent = {
        "earning_from_session": jobs_requeue(
            earning_from_session_task,
            # earning_from_session writes nothing for a session worth less than a cent
            [session.pk for session in sessions if session_pay(session)[1] > 0],
            seconds=seconds,
        )
    }

    seconds = job_stuck_seconds(payout_notice_send_task)
    before = now - timedelta(seconds=seconds)
    notices = []
    for event, waiting in (
        (
            "held",
            Payout.objects.filter(
                state=Payout.State.HELD, decided_at__lt=before, decided_at__gte=since
            ),
        ),
        (
            "sent",
            Payout.objects.filter(
                state__in=[Payout.State.SENT, Payout.State.PAID],
                sent_at__lt=before,
                sent_at__gte=since,
            ),
        ),
    ):
        mailed = PayoutAudit.objects.filter(payout=OuterRef("pk"), action=f"notice_{event}")
        notices += [
            (pk, event)
            for pk in waiting.exclude(Exists(mailed)).order_by("pk").values_list("pk", flat=True)
        ]
    sent["payout_notice_send"] = jobs_requeue(payout_notice_send_task, notices, seconds=seconds)
    if any(sent.values()):
        logger.warning("marketplace.jobs_swept", extra=sent)
    return sent
