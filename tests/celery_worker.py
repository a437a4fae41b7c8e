"""A real Celery worker process against Redis and the test database, for integration tests.

`celery_worker` starts `celery -A config worker` once per session as a separate process, with
the test database's URL, so that a message really travels through Redis to another process that
reads and writes the same (committed) rows. Tests that use it need `transaction=True`. Mail the
worker sends is written as files to `celery_worker.mail_dir`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    name: str
    mail_dir: Path
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def mails(self) -> list[str]:
        return [path.read_text() for path in sorted(self.mail_dir.glob("*.log"))]


def _database_url() -> str:
    db = connection.settings_dict
    credentials = db["USER"] or "postgres"
    if db["PASSWORD"]:
        credentials += ":" + db["PASSWORD"]
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    if not settings.CELERY_TEST_BROKER_URL.startswith("redis"):
        pytest.skip("needs Redis: set CELERY_BROKER_URL=redis://…")
    workdir = tmp_path_factory.mktemp("celery-worker")
    mail_dir = workdir / "mail"
    mail_dir.mkdir()
    log_path = workdir / "worker.log"
    name = f"test-{uuid.uuid4().hex[:8]}@%h"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_TEST_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    celery_app.control.purge()  # leftovers of an earlier, interrupted run
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                ",".join(settings.CELERY_QUEUE_NAMES),
                "-n",
                name,
                "-c",
                "1",
                "--pool",
                "prefork",
                "-l",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(
        process=process,
        name=name.replace("%h", socket.gethostname()),
        mail_dir=mail_dir,
        log_path=log_path,
    )
    deadline = time.monotonic() + 60
    while not celery_app.control.ping(destination=[worker.name], timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("The Celery worker did not start:\n" + worker.log())
    yield worker
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def settle(worker: WorkerProcess, timeout: float = 60) -> bool:
    """Wait until the worker has nothing left to do: no message waiting in its queues in Redis,
    none reserved or running in the worker. A job still running when the test's tables are
    flushed deadlocks the flush's TRUNCATE (seen on a loaded machine: a test that waited for
    each job's first delivery ended while the second was running). False on timeout."""
    import redis

    client = redis.Redis.from_url(settings.CELERY_TEST_BROKER_URL)
    inspector = celery_app.control.inspect(destination=[worker.name], timeout=1.0)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not any(client.llen(name) for name in settings.CELERY_QUEUE_NAMES):
                active, reserved = inspector.active(), inspector.reserved()
                if (  # no answer means the worker's state is unknown: wait on
                    active is not None
                    and reserved is not None
                    and not any(active.values())
                    and not any(reserved.values())
                    and not any(client.llen(name) for name in settings.CELERY_QUEUE_NAMES)
                ):
                    return True
            time.sleep(0.2)
    finally:
        client.close()
    return False


@pytest.fixture
def celery_worker(celery_worker_process: WorkerProcess) -> Iterator[WorkerProcess]:
    """The real worker, with this process sending tasks to Redis instead of running them eagerly.
    Afterwards it waits for the worker to settle, before the test's tables are flushed."""
    celery_app.conf.task_always_eager = False
    try:
        yield celery_worker_process
    finally:
        celery_app.conf.task_always_eager = True
        if not settle(celery_worker_process):
            pytest.fail(
                "The Celery worker was still busy 60 s after the test:\n"
                + celery_worker_process.log()[-4000:]
            )
