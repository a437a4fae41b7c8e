"""Fault injection, the fast part: each job run twice leaves its effect once, and a job that
kills its worker every time is parked after a bounded number of runs (bench/faults.py has the
slow part: many kills at random points, Redis and PostgreSQL outages)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.test import override_settings

from assessments.tasks import attempt_score_task
from common.jobs import jobs_parked
from evaluations.tasks import aggregation_run_task
from marketplace.tasks import payout_batch_build_task
from tests.assessments.helpers import load_tiny
from tests.celery_worker import ROOT, WorkerProcess, _database_url, settle
from tests.figures import figure
from tests.security import fault_jobs

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

DEATHS = 3
POISON_QUEUE = f"poison-{uuid.uuid4().hex[:6]}"


def _wait(check, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_each_job_delivered_twice_and_called_twice_leaves_its_effect_once(
    celery_worker: WorkerProcess,
) -> None:
    load_tiny()
    attempts = fault_jobs.scoring_work(3)
    runs = fault_jobs.aggregation_work(2)
    periods = fault_jobs.payout_work(2, people=5)
    for period in periods:  # the build's first delivery, next to the two below
        payout_batch_build_task.delay(period)
    for task, ids in (
        (attempt_score_task, attempts),
        (aggregation_run_task, runs),
        (payout_batch_build_task, periods),
    ):
        for pk in ids:
            task.delay(pk)
            task.delay(pk)
    assert _wait(
        lambda: (
            fault_jobs.payout_check(periods)["lost"] == 0
            and fault_jobs.aggregation_check(runs)["lost"] == 0
            and fault_jobs.scoring_check(attempts)["lost"] == 0
        )
    ), celery_worker.log()[-4000:]
    # Every delivery has ended (the first of each job ending is not enough: the second may still
    # be at work, and a call now would rightly find the job busy), then it is called twice.
    assert settle(celery_worker), celery_worker.log()[-4000:]
    for task, ids in (
        (attempt_score_task, attempts),
        (aggregation_run_task, runs),
        (payout_batch_build_task, periods),
    ):
        for pk in ids:
            task(pk)
            task(pk)

    found = {
        "scoring": fault_jobs.scoring_check(attempts),
        "aggregation": fault_jobs.aggregation_check(runs),
        "payouts": fault_jobs.payout_check(periods),
    }
    figure(
        "fault_duplicate_delivery",
        jobs=sum(f["jobs"] for f in found.values()),
        runs_each=5,
        lost=sum(f["lost"] for f in found.values()),
        duplicate_effects=sum(f["duplicates"] for f in found.values()),
    )
    assert found == {
        "scoring": {"jobs": 3, "lost": 0, "duplicates": 0},
        "aggregation": {"jobs": 2, "lost": 0, "duplicates": 0},
        "payouts": {"jobs": 2, "lost": 0, "duplicates": 0},
    }


def test_a_job_that_kills_its_worker_every_time_is_parked_after_a_bounded_number_of_runs(
    celery_worker: WorkerProcess, tmp_path
) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_TEST_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "JOB_MAX_DEATHS": str(DEATHS),
    }
    log_path = tmp_path / "poison-worker.log"
    token = uuid.uuid4().hex
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--include",
                "tests.security.fault_jobs",
                "-Q",
                POISON_QUEUE,
                "-n",
                f"poison-{token[:6]}@%h",
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
            start_new_session=True,
        )
    try:
        with override_settings(CELERY_BROKER_URL=settings.CELERY_TEST_BROKER_URL):
            fault_jobs.poison_task.apply_async(args=[token], queue=POISON_QUEUE)
            parked = _wait(lambda: any(token in key for key in jobs_parked()), 90)
            time.sleep(2)  # a job parked for good does not come back
            runs = fault_jobs.poison_runs(token)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    figure("fault_poison_job", max_deaths=DEATHS, runs=runs, parked=int(parked))
    assert parked, log_path.read_text(errors="replace")[-4000:]
    assert runs == DEATHS
