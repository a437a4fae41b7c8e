"""Tasks really travel through Redis to a separate worker process and back."""

import os
import time
import uuid

import pytest
from django.db import connection
from django.urls import reverse

from common.tasks import ping_task
from contributors.models import User
from tests.celery_worker import WorkerProcess

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_a_task_travels_through_redis_to_the_worker_and_back(celery_worker: WorkerProcess) -> None:
    token = uuid.uuid4().hex

    result = ping_task.delay(token).get(timeout=30)

    assert result["token"] == token
    assert result["pid"] != os.getpid()  # another process ran it
    assert result["pid"] != celery_worker.process.pid  # a pool child, not the main process
    assert result["database"] == connection.settings_dict["NAME"]
    assert result["database_answered"] is True


def test_sign_up_mail_is_sent_by_the_worker_after_commit(
    celery_worker: WorkerProcess, api_client
) -> None:
    response = api_client.post(
        reverse("auth-signup"),
        {
            "email": "worker.test@example.org",
            "password": "a-long-passphrase-42",
            "full_name": "Wanda Worker",
        },
        format="json",
    )
    assert response.status_code == 201

    def mails_to_wanda() -> list[str]:
        return [mail for mail in celery_worker.mails() if "To: worker.test@example.org" in mail]

    deadline = time.monotonic() + 30
    while not mails_to_wanda() and time.monotonic() < deadline:
        time.sleep(0.2)
    mails = mails_to_wanda()
    assert len(mails) == 1, celery_worker.log()
    assert "http://testserver/accounts/verify/" in mails[0]
    assert User.objects.get(email="worker.test@example.org").email_verified_at is None
