"""A payout batch built by a real Celery worker that is killed halfway, then retried."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings

from marketplace.models import Payout, PayoutBatch, PayoutItem
from marketplace.services.payouts import ledger_reconcile
from marketplace.tasks import payout_batch_build_task
from tests.celery_worker import ROOT, WorkerProcess, _database_url
from tests.marketplace.payout_helpers import closed_period, earn, earner

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

PEOPLE = 120
KILL_QUEUE = f"payouts-kill-{uuid.uuid4().hex[:6]}"


def _killable_worker(log_path) -> subprocess.Popen[bytes]:
    """A worker of its own, building one contributor per transaction, on a queue of its own."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_TEST_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PAYOUT_BUILD_CHUNK": "1",
    }
    with log_path.open("wb") as log:
        return subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                KILL_QUEUE,
                "-n",
                f"kill-{uuid.uuid4().hex[:6]}@%h",
                "-c",
                "1",
                "--pool",
                "prefork",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed whole below
        )


def test_a_build_killed_midway_and_retried_makes_the_batch_once(
    celery_worker: WorkerProcess, tmp_path
) -> None:
    people = [earner() for _ in range(PEOPLE)]
    for person in people:
        earn(person, "20.00")
        earn(person, "5.50")
    period = closed_period()
    log_path = tmp_path / "killable-worker.log"
    process = _killable_worker(log_path)
    try:
        payout_batch_build_task.apply_async(args=[period.pk], queue=KILL_QUEUE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            batch = PayoutBatch.objects.filter(period=period).first()
            if batch is not None and Payout.objects.filter(batch=batch).count() >= 10:
                break
            time.sleep(0.02)
        else:
            pytest.fail("The build did not start:\n" + log_path.read_text(errors="replace"))
        os.killpg(process.pid, signal.SIGKILL)  # the worker and its pool child, mid-build
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    batch.refresh_from_db()
    assert batch.state == PayoutBatch.State.BUILDING, "the build finished before the kill"
    halfway = Payout.objects.filter(batch=batch).count()
    assert 10 <= halfway < PEOPLE
    # Each finished chunk is whole: its payouts have all their links, none more.
    assert PayoutItem.objects.count() == 2 * halfway

    # The retry goes to the regular worker.
    payout_batch_build_task.delay(period.pk)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        batch.refresh_from_db()
        if batch.state == PayoutBatch.State.READY:
            break
        time.sleep(0.2)

    assert batch.state == PayoutBatch.State.READY
    assert Payout.objects.filter(batch=batch).count() == PEOPLE
    assert PayoutItem.objects.count() == 2 * PEOPLE
    assert {str(a) for a in Payout.objects.values_list("amount", flat=True)} == {"25.50"}
    assert PayoutBatch.objects.count() == 1
    assert ledger_reconcile() == []
