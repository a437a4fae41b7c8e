"""Celery entry points of the marketplace: by id, one service each, idempotent."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from marketplace import services

RETRY = {
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
