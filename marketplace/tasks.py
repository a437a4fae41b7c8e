"""Celery entry points of the marketplace: by id, one service each, idempotent."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task
from django.db import OperationalError

from common.jobs import Job
from marketplace import services

RETRY = {
    "base": Job,  # parked after JOB_MAX_DEATHS runs that killed their worker
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name="marketplace.earning_from_session", **RETRY)
def earning_from_session_task(session_id: int) -> None:
    # Idempotent: the entry's key is the session, so a redelivery finds it written.
    services.earning_from_session(session_id=session_id)


@shared_task(name="marketplace.sessions_close_idle", **RETRY)
def sessions_close_idle_task() -> None:
    services.sessions_close_idle()


@shared_task(name="marketplace.payout_batches_build", **RETRY)
def payout_batches_build_task() -> list[int]:
    # Idempotent: the period is the batch's key and each chunk moves the batch's cursor in its
    # own transaction, so a redelivery finishes the build or finds it done.
    from marketplace.services.payouts import batches_build_due

    return batches_build_due()


@shared_task(name="marketplace.payout_batch_build", **RETRY)
def payout_batch_build_task(period_id: int) -> int:
    from marketplace.services.payouts import batch_build

    return batch_build(period_id=period_id).pk


@shared_task(
    name="marketplace.email_payout_notice",
    autoretry_for=(OperationalError, SMTPException, ConnectionError),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def payout_notice_send_task(payout_id: int, event: str) -> None:
    from marketplace.services.payouts import payout_notice_send

    payout_notice_send(payout_id=payout_id, event=event)


@shared_task(name="marketplace.ledger_reconcile", **RETRY)
def ledger_reconcile_task() -> int:
    """The periodic check: breaks are logged at ERROR and mailed to the admins."""
    from django.core.mail import mail_admins

    from marketplace.services.payouts import ledger_reconcile

    breaks = ledger_reconcile()
    if breaks:
        mail_admins(
            f"Ledger reconciliation: {len(breaks)} rule(s) broken",
            "\n\n".join(f"{b.rule}: {b.description}\n{b.rows[:20]}" for b in breaks),
        )
    return len(breaks)


@shared_task(name="marketplace.jobs_sweep", **RETRY)
def marketplace_jobs_sweep_task() -> dict[str, int]:
    from marketplace.services.sweep import marketplace_jobs_sweep

    return marketplace_jobs_sweep()
