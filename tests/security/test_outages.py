"""Outages: Redis stopped under request load and started again, PostgreSQL connections
terminated in the middle of a transaction. While a request cannot be served the service answers
503 with Retry-After, never 500 (common.outages); it leaves nothing half-done, and it recovers by
itself. Each test reports its figure (tests/figures.py).

- Redis: gunicorn (2 sync workers, connections kept for a minute and the cache in Redis, as in
  production: tests/security/outage_settings.py) and a Celery worker run against a Redis of the
  test's own on a free port, which keeps an append-only file as a production Redis does. Five
  clients log in and open the dashboard, take and submit tasks through the API, ask for code
  runs (each queued for the sandbox worker at commit) and poll an import's live progress (read
  from the cache) for OUTAGE_WARMUP_SECONDS (6); Redis is then stopped for OUTAGE_SECONDS and
  started again, and the load goes on for OUTAGE_WARMUP_SECONDS more. OUTAGE_SECONDS is 15 by
  default, as CI runs it; `OUTAGE_SECONDS=60` gives the issue's full minute. Pages and task work
  need no Redis and never fail; the rest is answered 503 until Redis is back. Every code run
  asked for is kept: those asked for in the outage, whose job could not be sent, wait, and run
  once their jobs are sent again after it (as the sweeper does).
- PostgreSQL: a request blocked on a row lock in the middle of its transaction (an API submit
  after it wrote the submission, a page log-in) has its server backend terminated; it is
  answered 503, its transaction is rolled back, and the same request succeeds right after. Idle
  kept connections terminated between requests are replaced before the next request uses them
  (CONN_HEALTH_CHECKS), which then succeeds. With PostgreSQL unreachable, every request that
  needs it is answered 503.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import kombu.exceptions
import pytest
import redis
import yaml
from django.db import InterfaceError, OperationalError, connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import get_resolver
from rest_framework.authtoken.models import Token

from common.api.exception_handler import exception_handler
from common.middleware import OutageMiddleware
from common.outages import MESSAGE, RETRY_AFTER_SECONDS
from common.views import server_error
from config.celery import app as celery_app
from contributors.models import User
from evaluations.models import Assignment, CodeRun, ImportJob, Submission, Task
from evaluations.services import assignment_next, tasks_import
from evaluations.tasks import code_run_execute_task
from tests.celery_worker import ROOT, _database_url
from tests.contributors.factories import PASSWORD
from tests.evaluations.helpers import good_answers, jsonl, project_with_tasks, task_line, worker
from tests.figures import figure
from tests.marketplace.helpers import qualified, staff

OUTAGE_SECONDS = float(os.environ.get("OUTAGE_SECONDS", "15"))
WARMUP_SECONDS = float(os.environ.get("OUTAGE_WARMUP_SECONDS", "6"))
APP_NAME = f"evalmarket-outage-{uuid.uuid4().hex[:8]}"  # marks the server's own backends
ANSWERED = {200, 201, 202, 302}
UNAVAILABLE_BODY = {"detail": MESSAGE, "code": "service_unavailable", "fields": {}}
RETRY_AFTER = str(RETRY_AFTER_SECONDS)
HTML = "text/html; charset=utf-8"
OUTAGES = [
    pytest.param(OperationalError("server closed the connection unexpectedly"), id="database"),
    pytest.param(InterfaceError("connection already closed"), id="database-closed"),
    pytest.param(redis.exceptions.ConnectionError("Connection refused"), id="cache"),
    pytest.param(redis.exceptions.TimeoutError("Timeout reading from socket"), id="cache-timeout"),
    pytest.param(kombu.exceptions.OperationalError("Connection refused"), id="broker"),
]
CODE_TESTS = "from solution import double\nassert double(2) == 4\n"


def raised(exception: Exception, answer: Callable[[], HttpResponse]) -> HttpResponse:
    """Call `answer` while `exception` is being handled, as Django calls its 500 handler."""
    try:
        raise exception
    except Exception:
        return answer()


# -- The answers --------------------------------------------------------------------------


@pytest.mark.parametrize("exception", OUTAGES)
def test_an_outage_under_a_page_is_answered_503_with_a_page_and_retry_after(
    exception: Exception,
) -> None:
    request = RequestFactory().get("/dashboard/")
    in_view = OutageMiddleware(lambda request: HttpResponse()).process_exception(request, exception)
    in_middleware = raised(exception, lambda: server_error(request))

    assert [
        (answer.status_code, answer["Retry-After"], answer["Content-Type"])
        for answer in (in_view, in_middleware)
    ] == [(503, RETRY_AFTER, HTML)] * 2
    assert "Briefly unavailable" in in_view.content.decode()
    assert in_view.content == in_middleware.content


@pytest.mark.parametrize("exception", OUTAGES)
def test_an_outage_under_the_api_is_answered_503_in_the_error_shape(exception: Exception) -> None:
    request = RequestFactory().post("/api/v1/projects/1/next/")
    in_view = exception_handler(exception, {"request": request, "view": None})
    in_middleware = raised(exception, lambda: server_error(request))

    assert in_view is not None
    assert (in_view.status_code, in_view["Retry-After"], in_view.data) == (
        503,
        RETRY_AFTER,
        UNAVAILABLE_BODY,
    )
    assert (in_middleware.status_code, in_middleware["Retry-After"]) == (503, RETRY_AFTER)
    assert json.loads(in_middleware.content) == UNAVAILABLE_BODY


def test_an_error_that_is_not_an_outage_is_still_a_500() -> None:
    request = RequestFactory().get("/dashboard/")
    bug = ValueError("a bug of ours")

    assert OutageMiddleware(lambda request: HttpResponse()).process_exception(request, bug) is None
    assert exception_handler(bug, {"request": request, "view": None}) is None
    assert raised(bug, lambda: server_error(request)).status_code == 500


def test_every_operation_declares_its_503_with_retry_after() -> None:
    schema = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())

    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "Retry-After" not in operation["responses"].get("503", {}).get("headers", {})
    ]

    assert len(schema["paths"]) > 50
    assert missing == []


def test_errors_no_view_handled_go_to_the_handler_that_knows_outages() -> None:
    assert get_resolver().resolve_error_handler(500) is server_error


# -- Processes of the tests' own ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def process_stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process this test started in a session of its own, with its children."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@dataclass
class Answer:
    status_code: int
    headers: Message
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self) -> Any:
        return json.loads(self.content)


class Client:
    """Requests to the test's server, keeping the cookies it sets (as a browser does); redirects
    are answers of their own."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        body: object = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Answer:
        sent = dict(headers or {})
        payload = None
        if form is not None:
            payload = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            payload = json.dumps(body)
            sent["Content-Type"] = "application/json"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        http = HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            http.request(method, path, body=payload, headers=sent)
            response = http.getresponse()
            answer = Answer(response.status, response.headers, response.read())
        finally:
            http.close()
        for cookie in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return answer


class RedisServer:
    """A redis-server on a free port, with an append-only file (as production keeps one)."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            shutil.which("redis-server") or "redis-server",
            *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)),
            *("--save", "", "--appendonly", "yes", "--appendfsync", "always"),
            *("--logfile", str(self.folder / "redis.log")),
        ]
        self.process = subprocess.Popen(  # noqa: S603 - the OS's redis-server, fixed arguments
            command, start_new_session=True
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)

        def pings() -> bool:
            try:
                return bool(client.ping())
            except redis.exceptions.ConnectionError:
                return False

        assert wait_for(pings, 20), (self.folder / "redis.log").read_text()
        client.close()

    def stop(self) -> None:
        """Stop it as a service stop does (SIGTERM): Redis finishes its append-only file."""
        assert self.process is not None
        process_stop(self.process)


class Server:
    """gunicorn with 2 sync workers on a free port, against the test database (started at once;
    `wait_ready` waits for its first answer)."""

    def __init__(self, folder: Path, **env: str) -> None:
        self.port = free_port()
        self.log_path = folder / "gunicorn.log"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": f"{_database_url()}?application_name={APP_NAME}",
            "DATABASE_CONN_MAX_AGE": "60",  # kept connections, as in production
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        command = [
            *(sys.executable, "-m", "gunicorn", "config.wsgi:application"),
            *("--bind", f"127.0.0.1:{self.port}", "--workers", "2", "--timeout", "90"),
            "--no-control-socket",  # its default path is one per machine, shared with others
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn
                command,
                env=environment,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        def answers() -> bool:
            try:
                return (
                    self.client().request("GET", "/assets/highlight.css", timeout=5).status_code
                    == 200
                )
            except (OSError, HTTPException):
                return False

        wait_for(lambda: self.process.poll() is not None or answers(), 90)
        assert answers(), self.log()

    def client(self) -> Client:
        return Client(self.port)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        process_stop(self.process)


class Worker:
    """A Celery worker for the sandbox queue against the test database and this broker (started
    at once; `wait_ready` waits until it consumes)."""

    def __init__(self, folder: Path, broker_url: str) -> None:
        self.log_path = folder / "worker.log"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
        }
        command = [
            *(sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "sandbox", "-c", "1"),
            *("-n", f"outage-{uuid.uuid4().hex[:6]}@%h", "--pool", "prefork", "-l", "INFO"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
                command,
                env=environment,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def wait_ready(self) -> None:
        wait_for(lambda: " ready." in self.log() or self.process.poll() is not None, 90)
        assert " ready." in self.log(), self.log()

    def stop(self) -> None:
        process_stop(self.process)


# -- Redis stopped under load ---------------------------------------------------------------


class Load:
    """Clients in threads, each answer kept as (client, started, finished, status or error)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.answers: list[tuple[str, float, float, int | str]] = []
        self.runs_accepted: list[int] = []
        self.done = threading.Event()
        self.threads: list[threading.Thread] = []

    def call(
        self, client: str, http: Client, method: str, path: str, **kwargs: Any
    ) -> Answer | None:
        started = time.monotonic()
        try:
            response = http.request(method, path, **kwargs)
        except (OSError, HTTPException) as error:
            self.answers.append((client, started, time.monotonic(), type(error).__name__))
            return None
        self.answers.append((client, started, time.monotonic(), response.status_code))
        return response

    def start(self, client: Callable[[], None]) -> None:
        def loop() -> None:
            while not self.done.is_set():
                client()

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        self.threads.append(thread)

    def stop(self) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(90)

    def pages(self, email: str) -> None:
        """Log in (a new session each time) and open the dashboard."""
        browser = self.server.client()
        form = self.call("pages", browser, "GET", "/accounts/login/")
        if form is None or form.status_code != 200:
            return
        credentials = {
            "email": email,
            "password": PASSWORD,
            "csrfmiddlewaretoken": browser.cookies.get("csrftoken", ""),
        }
        self.call("pages", browser, "POST", "/accounts/login/", form=credentials)
        self.call("pages", browser, "GET", "/dashboard/")
        time.sleep(0.2)

    def work(self, token: str, project_id: int, answers: dict[str, object]) -> None:
        """Take the next task and submit it through the API."""
        api, headers = self.server.client(), {"Authorization": f"Token {token}"}
        path = f"/api/v1/projects/{project_id}/next/"
        taken = self.call("api", api, "POST", path, headers=headers)
        if taken is not None and taken.status_code == 200:
            path = f"/api/v1/assignments/{taken.json()['id']}/submit/"
            self.call("api", api, "POST", path, body={"answers": answers}, headers=headers)
        time.sleep(0.1)

    def code_run(self, token: str, assignment_id: int) -> None:
        """Ask for a run of a response's code: a job for the sandbox queue, at commit."""
        response = self.call(
            "runs",
            self.server.client(),
            "POST",
            f"/api/v1/assignments/{assignment_id}/runs/",
            body={"source": "a"},
            headers={"Authorization": f"Token {token}"},
        )
        if response is not None and response.status_code == 202:
            self.runs_accepted.append(response.json()["id"])
        time.sleep(1.0)

    def progress(self, token: str, job_id: int) -> None:
        """Staff watch an import's live progress, which comes from the cache."""
        headers = {"Authorization": f"Token {token}"}
        path = f"/api/v1/imports/{job_id}/"
        self.call("progress", self.server.client(), "GET", path, headers=headers)
        time.sleep(0.3)


def code_assignment() -> tuple[str, Assignment]:
    """A token and an open assignment on a task that has code and tests."""
    project = project_with_tasks(0)
    task = {
        "prompt": "Write double(x).",
        "responses": [
            {"id": "a", "text": "def double(x):\n    return x * 2\n"},
            {"id": "b", "text": "def double(x):\n    return x + 2\n"},
        ],
        "tests": CODE_TESTS,
    }
    tasks_import(project_id=project.pk, handle=jsonl([task]), fmt="jsonl")
    person = worker(project)
    return Token.objects.create(user=person).key, assignment_next(
        project_id=project.pk, user=person
    )


def jobs_send_again(broker_url: str, run_ids: list[int]) -> None:
    """Send the jobs of code runs left waiting once more, as the sweeper does."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with celery_app.connection_for_write(broker_url) as broker:
            for pk in run_ids:
                code_run_execute_task.apply_async(args=[pk], connection=broker)
    finally:
        celery_app.conf.task_always_eager = eager


@dataclass(frozen=True)
class Outage:
    stopped_at: float
    restarted_at: float

    def phase(self, started: float) -> str:
        if started < self.stopped_at:
            return "before"
        return "outage" if started < self.restarted_at else "after"


@pytest.mark.postgres
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_redis_stopped_under_load_is_answered_503_never_500_and_recovers(tmp_path: Path) -> None:
    own_redis = RedisServer(tmp_path)
    own_redis.start()
    stops: list[Callable[[], None]] = [own_redis.stop]
    try:
        celery = Worker(tmp_path, own_redis.url)
        stops.append(celery.stop)
        server = Server(
            tmp_path,
            DJANGO_SETTINGS_MODULE="tests.security.outage_settings",
            CELERY_BROKER_URL=own_redis.url,
            CELERY_TASK_ALWAYS_EAGER="0",
            CACHE_URL=own_redis.url,
        )
        stops.append(server.stop)
        # The scene is set while both start.
        project = project_with_tasks(0, capacity=10)
        lines = [task_line(n) for n in range(600)]
        tasks_import(project_id=project.pk, handle=jsonl(lines), fmt="jsonl")
        work_tokens = [Token.objects.create(user=worker(project)).key for _ in range(2)]
        answers = good_answers(Task.objects.filter(project=project).first())
        visitor = qualified("general")
        run_token, run_assignment = code_assignment()
        runs = CodeRun.objects.filter(assignment=run_assignment)
        manager = staff()
        manager_token = Token.objects.create(user=manager).key
        job = ImportJob.objects.create(
            project=project, created_by=manager, file="imports/live.jsonl", format="jsonl"
        )
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
        celery.wait_ready()
        server.wait_ready()

        load = Load(server)
        load.start(lambda: load.pages(visitor.email))
        for token in work_tokens:
            load.start(lambda token=token: load.work(token, project.pk, answers))
        load.start(lambda: load.code_run(run_token, run_assignment.pk))
        load.start(lambda: load.progress(manager_token, job.pk))

        time.sleep(WARMUP_SECONDS)
        stopped_at, stopped_wall = time.monotonic(), datetime.now(UTC)
        own_redis.stop()
        time.sleep(OUTAGE_SECONDS)
        own_redis.start()
        outage = Outage(stopped_at=stopped_at, restarted_at=time.monotonic())
        restarted_wall = datetime.now(UTC)
        time.sleep(WARMUP_SECONDS)
        load.stop()

        # Runs asked for since the restart run by themselves; those left waiting (asked for in
        # the outage, when no job could be sent) are sent once more, as the sweeper does.
        settled = wait_for(
            lambda: not runs.filter(created_at__gte=restarted_wall, status="queued").exists(), 60
        )
        waiting = list(runs.filter(status="queued").values_list("pk", flat=True))
        jobs_send_again(own_redis.url, waiting)
        all_done = wait_for(lambda: not runs.filter(status="queued").exists(), 60)
        server_log = server.log()
    finally:
        for stop in reversed(stops):
            stop()

    answered = Counter(
        (client, outage.phase(started), status) for client, started, _, status in load.answers
    )
    during = Counter(
        {(client, status): n for (client, when, status), n in answered.items() if when == "outage"}
    )
    recovered = [
        finished - outage.restarted_at
        for client, started, finished, status in load.answers
        if client in ("runs", "progress") and started >= outage.restarted_at and status in ANSWERED
    ]
    worker_back = sorted(
        (run.finished_at - restarted_wall).total_seconds()
        for run in runs.filter(finished_at__gte=restarted_wall)
    )
    in_outage = runs.filter(created_at__gte=stopped_wall, created_at__lt=restarted_wall)
    lost = set(load.runs_accepted) - set(runs.values_list("pk", flat=True))
    statuses = Counter(status for _, _, _, status in load.answers)
    slowest = [
        finished - started
        for _, started, finished, _ in load.answers
        if outage.phase(started) == "outage"
    ] or [0.0]
    figure(
        "outage_redis",
        outage_s=OUTAGE_SECONDS,
        requests=len(load.answers),
        during_outage=sum(during.values()),
        during_answered=sum(n for (_, status), n in during.items() if status in ANSWERED),
        during_503_jobs=during["runs", 503],
        during_503_cache=during["progress", 503],
        during_503_other=sum(
            n
            for (client, status), n in during.items()
            if status == 503 and client not in ("runs", "progress")
        ),
        during_slowest_s=f"{max(slowest):.2f}",
        answered_500=statuses[500],
        unanswered=sum(n for status, n in statuses.items() if isinstance(status, str)),
        recovered_after_s=f"{min(recovered):.2f}" if recovered else "never",
        worker_recovered_after_s=f"{worker_back[0]:.2f}" if worker_back else "never",
        runs=runs.count(),
        runs_in_outage=in_outage.count(),
        runs_waiting_after_recovery=len(waiting),
        runs_lost=len(lost) + runs.filter(status="queued").count(),
        load_avg=f"{os.getloadavg()[0]:.1f}",
    )
    assert set(statuses) <= ANSWERED | {503}, (statuses, server_log)
    pages_and_work = {status for client, _, _, status in load.answers if client in ("pages", "api")}
    assert pages_and_work <= ANSWERED, pages_and_work  # neither needs Redis
    assert {client for client, _ in during} == {"pages", "api", "runs", "progress"}
    assert recovered, answered
    assert min(recovered) < 10
    assert settled, runs.filter(status="queued").values_list("pk", "created_at")
    assert in_outage.count() >= 1  # asked for in the outage, and kept
    assert lost == set()
    assert all_done, runs.filter(status="queued").values_list("pk", "created_at")


# -- PostgreSQL connections terminated ----------------------------------------------------


def server_backends(*, waiting: bool = False) -> str:
    condition = " AND wait_event_type = 'Lock'" if waiting else ""
    return (
        "FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s"
        " AND pid <> pg_backend_pid()" + condition
    )


def backends_terminate(*, waiting: bool) -> int:
    """Terminate the server's backends (those waiting on a lock, or all); how many went."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # fresh, inside a transaction too
        cursor.execute(
            "SELECT pg_terminate_backend(pid) " + server_backends(waiting=waiting), [APP_NAME]
        )
        return sum(1 for (terminated,) in cursor.fetchall() if terminated)


def backend_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT COUNT(*) " + server_backends(waiting=True), [APP_NAME])
        return cursor.fetchone()[0] > 0


def terminated_while_blocked(
    lock: Callable[[], object], send: Callable[[], Answer]
) -> tuple[Answer, float, int]:
    """Send a request from another thread while this one holds a row lock that request's
    transaction needs; once the server's backend waits for it, terminate that backend. Returns
    the answer, when the backend was terminated, and how many were."""
    answered: list[Answer] = []
    with transaction.atomic():
        lock()
        thread = threading.Thread(target=lambda: answered.append(send()))
        thread.start()
        assert wait_for(backend_waits_on_a_lock, 30)
        terminated_at = time.monotonic()
        terminated = backends_terminate(waiting=True)
        thread.join(60)
    assert answered, "the request got no answer"
    return answered[0], terminated_at, terminated


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_connections_terminated_are_answered_503_rolled_back_and_replaced(
    tmp_path: Path,
) -> None:
    server = Server(tmp_path)
    try:
        project = project_with_tasks(1)
        person = worker(project)
        token = Token.objects.create(user=person).key
        assignment = assignment_next(project_id=project.pk, user=person)
        api = {"Authorization": f"Token {token}"}
        answers = {"answers": good_answers(assignment.task)}
        visitor = qualified("general")
        server.wait_ready()
        submit_path = f"/api/v1/assignments/{assignment.pk}/submit/"

        def submit() -> Answer:
            return server.client().request("POST", submit_path, body=answers, headers=api)

        # The submit has written the submission and closed the assignment when it waits for
        # the task's row, which this test holds.
        refused, api_terminated_at, api_terminated = terminated_while_blocked(
            lambda: Task.objects.select_for_update().get(pk=assignment.task_id), submit
        )
        left = (
            Submission.objects.filter(assignment=assignment).count(),
            Assignment.objects.get(pk=assignment.pk).status,
            Task.objects.get(pk=assignment.task_id).completed,
        )
        again = submit()
        api_recovered = time.monotonic() - api_terminated_at
        done = (
            Submission.objects.filter(assignment=assignment).count(),
            Assignment.objects.get(pk=assignment.pk).status,
            Task.objects.get(pk=assignment.task_id).completed,
        )

        browser = server.client()
        browser.request("GET", "/accounts/login/")

        def log_in() -> Answer:
            # The CSRF token is read each time: a log-in rotates it, even one answered 503.
            credentials = {
                "email": visitor.email,
                "password": PASSWORD,
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            }
            return browser.request("POST", "/accounts/login/", form=credentials)

        # A log-in records its time on the person's row, which this test holds.
        page, page_terminated_at, page_terminated = terminated_while_blocked(
            lambda: User.objects.select_for_update().get(pk=visitor.pk), log_in
        )
        logged_in = log_in()
        page_recovered = time.monotonic() - page_terminated_at

        def me() -> int:
            return server.client().request("GET", "/api/v1/me/", headers=api).status_code

        kept = [me() for _ in range(4)]
        idle_terminated = backends_terminate(waiting=False)
        idle_terminated_at = time.monotonic()
        replaced = [me() for _ in range(4)]
        idle_recovered = time.monotonic() - idle_terminated_at
        server_log = server.log()
    finally:
        server.stop()

    statuses = [refused, again, page, logged_in]
    figure(
        "outage_postgres",
        terminated=api_terminated + page_terminated + idle_terminated,
        answered_503=sum(answer.status_code == 503 for answer in statuses),
        answered_500=sum(answer.status_code == 500 for answer in statuses)
        + (kept + replaced).count(500),
        rolled_back=int(left == (0, "active", 0)),
        recovered_after_s=f"{max(api_recovered, page_recovered, idle_recovered):.2f}",
        load_avg=f"{os.getloadavg()[0]:.1f}",
    )
    assert (api_terminated, page_terminated) == (1, 1)
    assert (refused.status_code, refused.headers.get("Retry-After"), refused.json()) == (
        503,
        RETRY_AFTER,
        UNAVAILABLE_BODY,
    ), server_log
    assert left == (0, "active", 0)  # the submission and the assignment's change rolled back
    assert (again.status_code, done) == (201, (1, "submitted", 1))
    assert (page.status_code, page.headers.get("Retry-After"), page.headers["Content-Type"]) == (
        503,
        RETRY_AFTER,
        HTML,
    ), server_log
    assert "Briefly unavailable" in page.text
    assert (logged_in.status_code, logged_in.headers["Location"]) == (302, "/")
    assert kept == [200] * 4
    assert idle_terminated >= 1
    assert replaced == [200] * 4


def test_postgres_unreachable_every_request_is_answered_503(tmp_path: Path) -> None:
    nowhere = f"postgres://postgres@127.0.0.1:{free_port()}/evalmarket?application_name={APP_NAME}"
    server = Server(tmp_path, DATABASE_URL=nowhere)
    try:
        server.wait_ready()
        browser = server.client()
        form = browser.request("GET", "/accounts/login/")
        credentials = {"email": "someone@example.org", "password": PASSWORD}
        api = server.client()
        returning = server.client()  # someone logged in earlier: the session is in the database
        returning.cookies["sessionid"] = "x" * 32
        answers = [
            returning.request("GET", "/dashboard/"),
            browser.request(
                "POST",
                "/accounts/login/",
                form={**credentials, "csrfmiddlewaretoken": browser.cookies.get("csrftoken", "")},
            ),
            api.request("GET", "/api/v1/me/", headers={"Authorization": "Token x"}),
            api.request("POST", "/api/v1/auth/token/", body=credentials),
        ]
    finally:
        server.stop()

    figure(
        "outage_postgres_unreachable",
        requests=len(answers),
        answered_503=sum(answer.status_code == 503 for answer in answers),
        answered_500=sum(answer.status_code == 500 for answer in answers),
    )
    assert form.status_code == 200  # a page that reads nothing from the database
    assert [
        (answer.status_code, answer.headers.get("Retry-After"), answer.headers["Content-Type"])
        for answer in answers
    ] == [(503, RETRY_AFTER, HTML)] * 2 + [(503, RETRY_AFTER, "application/json")] * 2
    assert [answer.json() for answer in answers[2:]] == [UNAVAILABLE_BODY] * 2
