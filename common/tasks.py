"""Plumbing jobs: a round-trip probe for the worker, and session housekeeping."""

from __future__ import annotations

import os
import socket
from typing import Any

from celery import shared_task
from django.db import connection

from common.services import sessions_clear_expired


@shared_task(name="common.ping", ignore_result=False)
def ping_task(token: str) -> dict[str, Any]:
    """Answer with who ran the job and against which database, to prove the path works."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (one,) = cursor.fetchone()
    return {
        "token": token,
        "pid": os.getpid(),
        "hostname": socket.gethostname(),
        "database": str(connection.settings_dict["NAME"]),
        "database_answered": one == 1,
    }


@shared_task(name="common.sessions_clear_expired")
def sessions_clear_expired_task() -> None:
    sessions_clear_expired()
