"""Celery entry points of the contributors app: thin, by id, calling one service."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task
from django.db import OperationalError

from contributors.services import auth_attempts_purge, email_verification_send


@shared_task(
    name="contributors.email_verification_send",
    autoretry_for=(OperationalError, SMTPException, ConnectionError),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def email_verification_send_task(user_id: int) -> None:
    # At-least-once: a retried delivery may send the link twice; each link works on its own.
    email_verification_send(user_id=user_id)


@shared_task(name="contributors.auth_attempts_purge")
def auth_attempts_purge_task() -> None:
    auth_attempts_purge()
