"""Claim benchmark: contributors loop "next task → submit" on a project of 1,000,000 tasks.

    python3 dev.py bench claims                              # seeds once, then measures
    python3 dev.py bench claims --duration 10 --levels 1,8   # shorter
    python3 dev.py bench claims --reseed                     # drop the database, seed anew

Uses its own PostgreSQL database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/evalmarket_bench_claims), seeded on the first run with one
per-task project (the form of tests/evaluations/helpers.py, overlap 3) whose 1,000,000 tasks
come in through `tasks_import` from a generated JSONL stream, and 64 active contributors
qualified `general`, members of it, each with an API token. It is seeded anew when fewer than
half of the 3,000,000 places on the tasks are left (each run takes about 200,000).

At each concurrency level (one thread per contributor) it runs three modes for a fixed time:
  api      POST /next/ then POST /submit/ through gunicorn (the Procfile's sync workers),
           one http.client connection per thread;
  service  assignment_next + submission_submit called in-process, one DB connection per thread;
  sql      the ceiling: one bare SQL statement that claims a task (SKIP LOCKED) and inserts its
           assignment, through psycopg, autocommit.
It reports cycles (claims) per second and p50/p99 of the `next` call and of the whole cycle,
then checks the invariants in SQL. The same project keeps being consumed from run to run.
Results go to bench/results/claims.json and the table in bench/README.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/evalmarket_bench_claims"
)
os.environ["DATABASE_URL"] = BENCH_URL
os.environ["ALLOWED_HOSTS"] = "127.0.0.1"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ["LOG_LEVEL"] = "WARNING"

TASKS = 1_000_000
OVERLAP = 3
CONTRIBUTORS = 64
LEVELS = (1, 8, 32, 64)
MODES = ("api", "service", "sql")
DURATION = 20.0  # measured seconds per mode and level
WARMUP = 2.0  # seconds run before measuring (connections, caches)
WORKERS = 4  # gunicorn workers, as in the Procfile
TITLE = "Claim benchmark"
STAFF_EMAIL = "claims-staff@bench.local"
# Each submission writes its own rationale (as people do): a few words drawn at random, so that
# the near-duplicate check sees distinct texts, as it would in real work.
WORDS = [
    "answer",
    "clear",
    "correct",
    "complete",
    "concise",
    "accurate",
    "relevant",
    "helpful",
    "direct",
    "detailed",
    "safe",
    "precise",
    "thorough",
    "logical",
    "consistent",
    "structured",
    "readable",
    "grounded",
    "factual",
    "careful",
    "useful",
    "explains",
    "covers",
    "misses",
    "ignores",
    "repeats",
    "wanders",
    "hedges",
    "cites",
    "assumes",
    "handles",
    "omits",
]

# The ceiling: claim the best open task this person never had and record the assignment, in one
# statement (one round trip, one transaction). It writes what the service writes for a claim,
# from the same partial index (regular tasks; the service mixes gold in from its own index).
CLAIM_SQL = """
WITH t AS (
    SELECT id FROM evaluations_task
    WHERE project_id = %(project)s AND filled < overlap AND NOT is_gold
      AND NOT EXISTS (
          SELECT 1 FROM evaluations_assignment a
          WHERE a.task_id = evaluations_task.id AND a.contributor_id = %(user)s)
    ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE evaluations_task SET filled = filled + 1 FROM t
    WHERE evaluations_task.id = t.id RETURNING evaluations_task.id
)
INSERT INTO evaluations_assignment (task_id, project_id, contributor_id, status, leased_at,
    lease_expires_at, form_id, response_order, draft, active_seconds, last_active_at,
    skip_reason, closed_at)
SELECT claimed.id, %(project)s, %(user)s, 'submitted', now(), now() + interval '30 minutes',
    %(form)s, '["a", "b"]', '{}', 0, now(), '', now()
FROM claimed RETURNING id, task_id
"""


def open_slots() -> int | None:
    """Places left on the seeded project's tasks, or None when it is not seeded."""
    import psycopg

    with psycopg.connect(BENCH_URL, autocommit=True) as connection:
        if not connection.execute("SELECT to_regclass('evaluations_task')").fetchone()[0]:
            return None
        return connection.execute(
            "SELECT sum(t.overlap - t.filled) FROM evaluations_task t"
            " JOIN marketplace_project p ON p.id = t.project_id AND p.title = %s",
            (TITLE,),
        ).fetchone()[0]


def ensure_database(*, reseed: bool) -> None:
    """Create the database; drop it first when asked, or when most of the queue is used up."""
    import psycopg

    name = BENCH_URL.rsplit("/", 1)[1]
    admin_url = BENCH_URL.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if exists and not reseed:
            left = open_slots()
            if left is not None and left < TASKS * OVERLAP // 2:
                print(f"bench: only {left:,} places left on the tasks; seeding anew")
                reseed = True
        if exists and reseed:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if not exists or reseed:
            connection.execute(f'CREATE DATABASE "{name}"')


def task_lines(count: int) -> Iterator[bytes]:
    """JSONL task lines: a prompt and two responses, as a customer's export would have them."""
    import orjson

    for n in range(count):
        yield (
            orjson.dumps(
                {
                    "external_id": f"c{n}",
                    "prompt": f"Question {n}: explain, in two or three sentences, why the sky "
                    f"looks blue at noon and red at sunset.",
                    "responses": [
                        {
                            "id": "a",
                            "text": f"Answer A to {n}. Sunlight scatters off air molecules; "
                            "short (blue) wavelengths scatter most, so the sky looks blue. "
                            "At sunset light crosses more air and the blue is scattered away.",
                            "model": "model-1",
                        },
                        {
                            "id": "b",
                            "text": f"Answer B to {n}. The sky reflects the ocean, which is "
                            "blue; at sunset the sun is red so the sky turns red as well.",
                            "model": "model-2",
                        },
                    ],
                }
            )
            + b"\n"
        )


class LineStream(io.RawIOBase):
    """A read-only file over generated lines, so an import reads it like an uploaded file."""

    def __init__(self, lines: Iterator[bytes]) -> None:
        self.lines = lines
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        parts, size = [self.pending], len(self.pending)
        while size < len(buffer):
            line = next(self.lines, None)
            if line is None:
                break
            parts.append(line)
            size += len(line)
        data = b"".join(parts)
        count = min(len(buffer), len(data))
        buffer[:count] = data[:count]
        self.pending = data[count:]
        return count


def claimer(n: int) -> str:
    return f"claimer{n}@bench.local"


def seed() -> int:
    """The project, its tasks and its contributors, made once through the services."""
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from contributors.models import ContributorProfile, Qualification, User
    from contributors.services import user_create
    from evaluations.models import Task
    from evaluations.services import form_set, settings_set, tasks_import
    from marketplace.models import Project
    from marketplace.services import membership_join, project_create, project_transition
    from tests.evaluations.helpers import FORM

    started = time.monotonic()
    staff = User.objects.filter(email=STAFF_EMAIL).first() or user_create(
        email=STAFF_EMAIL,
        password=None,
        full_name="Claim bench staff",
        roles=("staff",),
        is_staff=True,
        email_verified=True,
    )
    project = Project.objects.filter(title=TITLE).first()
    if project is None:
        project = project_create(
            actor=staff,
            data={
                "title": TITLE,
                "description": "Compare two answers, three people per task.",
                "tier": "general",
                "pay_model": "per_task",
                "pay_rate": Decimal("30.00"),
                "task_minutes": 5,
                "capacity": 1000,
            },
            requires_all=["general"],
        )
        project_transition(project_id=project.pk, actor=staff, to_status="active")
        settings_set(project_id=project.pk, actor=staff, overlap=OVERLAP)
        form_set(project_id=project.pk, actor=staff, schema=FORM)
    if not Task.objects.filter(project=project).exists():
        print(f"bench: importing {TASKS:,} tasks", flush=True)
        handle = io.BufferedReader(LineStream(task_lines(TASKS)), buffer_size=1 << 16)
        result = tasks_import(project_id=project.pk, handle=handle, fmt="jsonl")
        print(f"bench: imported {result.imported:,} tasks", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) evaluations_task")
    for n in range(CONTRIBUTORS):
        email = claimer(n)
        user = User.objects.filter(email=email).first()
        if user is None:
            user = user_create(
                email=email, password=None, full_name=f"Claimer {n}", email_verified=True
            )
            ContributorProfile.objects.filter(user=user).update(
                status="active", application_submitted_at=user.date_joined
            )
            Qualification.objects.create(user=user, code="general", source="bench")
        membership_join(project_id=project.pk, user=user)
        Token.objects.get_or_create(user=user)
    print(f"bench: seed checked in {time.monotonic() - started:.0f} s", flush=True)
    return project.pk


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def answers_for(ids: list[str]) -> dict[str, Any]:
    """Good answers to the helpers' FORM (as tests.evaluations.helpers.good_answers)."""
    return {
        "helpfulness": dict.fromkeys(ids, 5),
        "better": {"choice": ids[0], "strength": 2},
        "rationale": " ".join(random.choices(WORDS, k=12)),
    }


class Worker:
    """One simulated contributor: `cycle` does next → submit and returns the next's seconds."""

    def cycle(self) -> float:
        raise NotImplementedError

    def close(self) -> None:
        pass


class ApiWorker(Worker):
    def __init__(self, *, port: int, project_id: int, token: str) -> None:
        self.connection = HTTPConnection("127.0.0.1", port, timeout=120)
        self.next_path = f"/api/v1/projects/{project_id}/next/"
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def post(self, path: str, body: bytes, expect: int) -> bytes:
        # The Procfile's sync workers close each connection; http.client then reconnects.
        self.connection.request("POST", path, body=body, headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status != expect:
            raise RuntimeError(f"POST {path}: HTTP {response.status}: {data[:500]!r}")
        return data

    def cycle(self) -> float:
        import orjson

        started = time.perf_counter()
        assignment = orjson.loads(self.post(self.next_path, b"", 200))
        next_seconds = time.perf_counter() - started
        ids = [response["id"] for response in assignment["task"]["responses"]]
        body = orjson.dumps({"answers": answers_for(ids)})
        self.post(f"/api/v1/assignments/{assignment['id']}/submit/", body, 201)
        return next_seconds

    def close(self) -> None:
        self.connection.close()


class FloorWorker(ApiWorker):
    """The stack's floor: a cycle of two authenticated API reads of one row (one's own
    assignment, GET /api/v1/assignments/<id>/) and no work: what the HTTP server, Django, DRF's
    token lookup and one query cost before any of the service's logic."""

    def __init__(self, *, port: int, project_id: int, token: str) -> None:
        import orjson

        super().__init__(port=port, project_id=project_id, token=token)
        assignment = orjson.loads(self.post(self.next_path, b"", 200))
        self.path = f"/api/v1/assignments/{assignment['id']}/"

    def read(self) -> None:
        self.connection.request("GET", self.path, headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {self.path}: HTTP {response.status}: {data[:500]!r}")

    def cycle(self) -> float:
        started = time.perf_counter()
        self.read()
        first_seconds = time.perf_counter() - started
        self.read()
        return first_seconds


class ServiceWorker(Worker):
    def __init__(self, *, project_id: int, user_id: int) -> None:
        from contributors.models import User

        self.project_id = project_id
        self.user = User.objects.get(pk=user_id)

    def cycle(self) -> float:
        from evaluations.services import assignment_next, submission_submit

        started = time.perf_counter()
        assignment = assignment_next(project_id=self.project_id, user=self.user)
        next_seconds = time.perf_counter() - started
        ids = [response["id"] for response in assignment.task.responses]
        submission_submit(assignment_id=assignment.pk, user=self.user, answers=answers_for(ids))
        return next_seconds

    def close(self) -> None:
        from django.db import connections

        connections.close_all()  # this thread's connections


class SqlWorker(Worker):
    def __init__(self, *, project_id: int, user_id: int, form_id: int) -> None:
        import psycopg

        self.connection = psycopg.connect(BENCH_URL, autocommit=True)
        self.params = {"project": project_id, "user": user_id, "form": form_id}

    def cycle(self) -> float:
        started = time.perf_counter()
        row = self.connection.execute(CLAIM_SQL, self.params, prepare=True).fetchone()
        if row is None:
            raise RuntimeError("no open task left")
        return time.perf_counter() - started

    def close(self) -> None:
        self.connection.close()


@dataclass
class Run:
    mode: str
    level: int
    ends: list[float] = field(default_factory=list)
    next_ms: list[float] = field(default_factory=list)
    cycle_ms: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)


def run_level(
    mode: str,
    level: int,
    make: Callable[[int], Worker],
    *,
    warmup: float,
    duration: float,
    quiet: bool = False,
) -> dict[str, Any]:
    """`level` threads loop cycles; cycles that end inside the measured window count."""
    run = Run(mode=mode, level=level)
    window: dict[str, float] = {}

    def open_window() -> None:  # run by one thread, before the barrier lets any through
        now = time.perf_counter()
        window["start"], window["end"] = now + warmup, now + warmup + duration

    ready = threading.Barrier(level + 1, action=open_window)

    def loop(index: int) -> None:
        try:
            worker = make(index)
        except Exception:
            with run.lock:
                run.errors += 1
                run.first_error = run.first_error or traceback.format_exc()
            ready.wait()
            return
        ready.wait()
        try:
            while True:
                started = time.perf_counter()
                if started >= window["end"]:
                    break
                try:
                    next_seconds = worker.cycle()
                except Exception:
                    with run.lock:
                        run.errors += 1
                        run.first_error = run.first_error or traceback.format_exc()
                    time.sleep(0.05)
                    continue
                ended = time.perf_counter()
                if window["start"] <= ended < window["end"]:
                    with run.lock:
                        run.ends.append(ended)
                        run.next_ms.append(next_seconds * 1000)
                        run.cycle_ms.append((ended - started) * 1000)
        finally:
            worker.close()

    threads = [threading.Thread(target=loop, args=(index,), daemon=True) for index in range(level)]
    for thread in threads:
        thread.start()
    ready.wait()
    time.sleep(max(0.0, window["start"] - time.perf_counter()))
    busy_start, total_start = cpu_times()
    time.sleep(max(0.0, window["end"] - time.perf_counter()))
    busy_end, total_end = cpu_times()
    for thread in threads:
        thread.join()
    cycles = len(run.ends)
    busy_seconds = (busy_end - busy_start) / os.sysconf("SC_CLK_TCK")
    result = {
        "mode": mode,
        "contributors": level,
        "cycles": cycles,
        "cycles_per_s": round(cycles / duration, 1),
        "next_p50_ms": round(percentile(run.next_ms, 0.5), 1) if cycles else None,
        "next_p99_ms": round(percentile(run.next_ms, 0.99), 1) if cycles else None,
        "cycle_p50_ms": round(percentile(run.cycle_ms, 0.5), 1) if cycles else None,
        "cycle_p99_ms": round(percentile(run.cycle_ms, 0.99), 1) if cycles else None,
        "errors": run.errors,
        # The whole machine (client, server, PostgreSQL): how busy, and CPU time per cycle.
        "cpu_busy": round((busy_end - busy_start) / max(1, total_end - total_start), 2),
        "cpu_ms_per_cycle": round(busy_seconds * 1000 / cycles, 2) if cycles else None,
    }
    if quiet:
        return result
    print(
        f"bench: {mode:7} x{level:<2}  {result['cycles_per_s']:7.1f}/s  next p50 "
        f"{result['next_p50_ms']} p99 {result['next_p99_ms']} ms  cycle p50 "
        f"{result['cycle_p50_ms']} p99 {result['cycle_p99_ms']} ms  errors {run.errors}  "
        f"CPU {result['cpu_busy']:.0%}, {result['cpu_ms_per_cycle']} ms/cycle",
        flush=True,
    )
    if run.first_error:
        print(f"bench: first error of {mode} x{level}:\n{run.first_error}", flush=True)
        result["first_error"] = run.first_error
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(workers: int) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="bench-claims-gunicorn-", suffix=".log")[1])
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",  # wsgi.py defaults to production
        "DATABASE_URL": BENCH_URL,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, fixed arguments
            command, cwd=ROOT, env=env, stdout=output, stderr=output
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}; see {log}")
        try:
            probe = HTTPConnection("127.0.0.1", port, timeout=5)
            probe.request("GET", "/assets/highlight.css")
            probe.getresponse().read()
            probe.close()
            return server, port, log
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"gunicorn did not answer on port {port}; see {log}")


def stop_gunicorn(server: subprocess.Popen[bytes], log: Path) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    if log.stat().st_size:
        print(f"bench: gunicorn wrote to {log}")
    else:
        log.unlink()


def vacuum() -> None:
    """Every run starts from the same state: no dead rows left by the run before."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM (ANALYZE) evaluations_task, evaluations_assignment, evaluations_submission"
        )


def counts(project_id: int) -> dict[str, int]:
    from django.db import connection

    queries = {
        "open_tasks": "SELECT count(*) FROM evaluations_task WHERE project_id = %s"
        " AND filled < overlap",
        "assignments": "SELECT count(*) FROM evaluations_assignment WHERE project_id = %s",
        "submissions": "SELECT count(*) FROM evaluations_submission WHERE project_id = %s",
    }
    with connection.cursor() as cursor:
        found = {}
        for name, sql in queries.items():
            cursor.execute(sql, [project_id])
            found[name] = cursor.fetchone()[0]
    return found


def checks(project_id: int) -> dict[str, int]:
    """Invariants over everything this project ever handed out; each must be 0."""
    from django.db import connection

    queries = {
        "repeated (task, contributor) pairs": (
            "SELECT count(*) FROM (SELECT 1 FROM evaluations_assignment WHERE project_id = %s"
            " GROUP BY task_id, contributor_id HAVING count(*) > 1) AS repeated"
        ),
        "tasks filled past overlap": (
            "SELECT count(*) FROM evaluations_task WHERE project_id = %s AND filled > overlap"
        ),
        "tasks with more submissions than overlap": (
            "SELECT count(*) FROM (SELECT s.task_id FROM evaluations_submission s"
            " JOIN evaluations_task t ON t.id = s.task_id WHERE s.project_id = %s"
            " GROUP BY s.task_id, t.overlap HAVING count(*) > t.overlap) AS over"
        ),
        "tasks whose filled differs from their held assignments": (
            "SELECT count(*) FROM evaluations_task t LEFT JOIN (SELECT task_id, count(*) AS held"
            " FROM evaluations_assignment WHERE status IN ('active', 'submitted')"
            " GROUP BY task_id) a ON a.task_id = t.id"
            " WHERE t.project_id = %s AND t.filled <> coalesce(a.held, 0)"
        ),
    }
    with connection.cursor() as cursor:
        found = {}
        for name, sql in queries.items():
            cursor.execute(sql, [project_id])
            found[name] = cursor.fetchone()[0]
    return found


def measure(project_id: int, options: argparse.Namespace) -> dict[str, Any]:
    from rest_framework.authtoken.models import Token

    from evaluations.selectors import form_current

    tokens = list(
        Token.objects.filter(user__email__in=[claimer(n) for n in range(CONTRIBUTORS)])
        .order_by("user_id")
        .values_list("user_id", "key")
    )[:CONTRIBUTORS]
    form_id = form_current(project=project_id).pk
    before = counts(project_id)
    makers: dict[str, Callable[[int], Worker]] = {
        "service": lambda i: ServiceWorker(project_id=project_id, user_id=tokens[i][0]),
        "sql": lambda i: SqlWorker(project_id=project_id, user_id=tokens[i][0], form_id=form_id),
    }
    runs = []
    server, log = None, None
    try:
        if "api" in options.modes:
            server, port, log = start_gunicorn(options.workers)
            print(f"bench: gunicorn ({options.workers} workers) on port {port}, log {log}")
            makers["api"] = lambda i: ApiWorker(
                port=port, project_id=project_id, token=tokens[i][1]
            )
            # Every worker process answers a few requests first (imports, DB connection).
            warm = run_level(
                "api",
                8,
                lambda i: makers["api"](len(tokens) - 1 - i),
                warmup=0,
                duration=3,
                quiet=True,
            )
            print(f"bench: gunicorn warm-up: {warm['cycles']} cycles, {warm['errors']} errors")
        # Each row takes the next contributors in turn. A person's claim walks past the open
        # tasks they already had (waiting for others), so a row run by the people of the row
        # before would start behind that row's leftovers; others fill those instead.
        first = 0
        for level in options.levels:
            for mode in options.modes:
                vacuum()
                busy = cpu_busy(1.0)  # should be near 0: nobody else at work on the machine
                if busy > 0.1:
                    print(f"bench: warning: the machine was {busy:.0%} busy before this row")
                run = run_level(
                    mode,
                    level,
                    lambda i, mode=mode, first=first: makers[mode]((first + i) % len(tokens)),
                    warmup=options.warmup,
                    duration=options.duration,
                )
                run["cpu_busy_before"] = round(busy, 2)
                run["first_contributor"] = first
                first = (first + level) % len(tokens)
                runs.append(run)
    finally:
        if server is not None and log is not None:
            stop_gunicorn(server, log)
    after = counts(project_id)
    return {
        "sizes": {
            "tasks": TASKS,
            "overlap": OVERLAP,
            "contributors": len(tokens),
            "open_tasks_before": before["open_tasks"],
            "open_tasks_after": after["open_tasks"],
            "assignments_after": after["assignments"],
            "submissions_after": after["submissions"],
        },
        "settings": {
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "levels": options.levels,
            "modes": options.modes,
            "gunicorn_workers": options.workers,
        },
        "runs": runs,
        "checks": checks(project_id),
    }


def goals(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each goal with what was measured and whether it was met (None: not measured)."""
    by = {(run["mode"], run["contributors"]): run for run in runs}

    def rate(mode: str, level: int) -> float | None:
        run = by.get((mode, level))
        return run["cycles_per_s"] if run else None

    found = []
    api32, api64 = rate("api", 32), rate("api", 64)
    found.append(
        {
            "goal": "API: at least 200 cycles/s at 32 contributors",
            "measured": f"{api32} cycles/s" if api32 is not None else "not run",
            "met": None if api32 is None else api32 >= 200,
        }
    )
    collapse = None if api32 is None or api64 is None else api64 >= 0.8 * api32
    found.append(
        {
            "goal": "API: no collapse at 64 (at least 80% of the rate at 32, no errors)",
            "measured": f"{api64} vs {api32} cycles/s, {by[('api', 64)]['errors']} errors"
            if collapse is not None
            else "not run",
            "met": None if collapse is None else collapse and by[("api", 64)]["errors"] == 0,
        }
    )
    run8 = by.get(("api", 8))
    found.append(
        {
            "goal": "API: next-task p99 under 50 ms at 8 contributors",
            "measured": f"{run8['next_p99_ms']} ms" if run8 else "not run",
            "met": None if run8 is None else (run8["next_p99_ms"] or 1e9) < 50,
        }
    )
    for level in sorted({run["contributors"] for run in runs}):
        service, sql = rate("service", level), rate("sql", level)
        ratio = None if service is None or not sql else service / sql
        found.append(
            {
                "goal": f"service at least half the bare-SQL ceiling at {level}",
                "measured": f"{service} / {sql} = {ratio:.2f}" if ratio is not None else "not run",
                "met": None if ratio is None else ratio >= 0.5,
            }
        )
    return found


def cpu_times() -> tuple[int, int]:
    """The machine's busy and total CPU time so far, in clock ticks of all cores."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def cpu_busy(seconds: float = 3.0) -> float:
    """The share of the machine's CPU time that was busy over `seconds` (others' work too)."""
    busy_before, total_before = cpu_times()
    time.sleep(seconds)
    busy_after, total_after = cpu_times()
    return (busy_after - busy_before) / max(1, total_after - total_before)


def machine() -> str:
    cores = os.cpu_count()
    memory = ""
    try:
        with open("/proc/meminfo") as handle:
            kb = int(handle.readline().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    python = platform.python_version()
    return f"{platform.machine()}, {cores} cores{memory}, Python {python}, {platform.system()}"


def write(results: dict[str, Any]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    record = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "postgres": postgres,
        **results,
        "goals": goals(results["runs"]),
    }
    (ROOT / "bench" / "results" / "claims.json").write_text(json.dumps(record, indent=2) + "\n")
    sizes, settings = results["sizes"], results["settings"]
    mark = {True: "met", False: "**not met**", None: "not run"}
    lines = [
        f"Measured {record['date']} on {record['machine']}, PostgreSQL {postgres}; "
        f"{sizes['tasks']:,} tasks, overlap {sizes['overlap']}, {sizes['contributors']} "
        f"contributors; {settings['duration_s']:g} s measured per row after "
        f"{settings['warmup_s']:g} s of warm-up; gunicorn with {settings['gunicorn_workers']} "
        f"sync workers; client, server and PostgreSQL share the machine, so the CPU columns "
        f"are the whole machine's: its CPU use in the second before the row (others' work, "
        f"should be near 0) and during it, and CPU time of all cores per cycle. Open tasks "
        f"{sizes['open_tasks_before']:,} before, {sizes['open_tasks_after']:,} after; the "
        f"project holds {sizes['assignments_after']:,} assignments and "
        f"{sizes['submissions_after']:,} submissions.",
        "",
        "| mode | contributors | cycles/s | next p50 ms | next p99 ms | cycle p50 ms "
        "| cycle p99 ms | errors | CPU busy before / during | CPU ms per cycle |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    names = {
        "api": "API (HTTP, gunicorn)",
        "service": "services in-process",
        "sql": "bare SQL claim",
    }
    for mode in settings["modes"]:
        for run in results["runs"]:
            if run["mode"] == mode:
                lines.append(
                    f"| {names[mode]} | {run['contributors']} | {run['cycles_per_s']} | "
                    f"{run['next_p50_ms']} | {run['next_p99_ms']} | {run['cycle_p50_ms']} | "
                    f"{run['cycle_p99_ms']} | {run['errors']} | {run['cpu_busy_before']:.0%} / "
                    f"{run['cpu_busy']:.0%} | {run['cpu_ms_per_cycle']} |"
                )
    lines += ["", "| goal | measured | |", "| --- | --- | --- |"]
    lines += [f"| {g['goal']} | {g['measured']} | {mark[g['met']]} |" for g in record["goals"]]
    lines += [
        "",
        "Invariants after all runs (each must be 0): "
        + "; ".join(f"{name}: {value}" for name, value in results["checks"].items())
        + ".",
    ]
    table = "\n".join(lines)
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()
    start, end = "<!-- claims:start -->", "<!-- claims:end -->"
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    readme.write_text(f"{before}{start}\n{table}\n{end}{after}")
    print(table)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=DURATION, help="seconds per row")
    parser.add_argument("--warmup", type=float, default=WARMUP, help="seconds before measuring")
    parser.add_argument(
        "--levels",
        type=lambda text: [int(part) for part in text.split(",")],
        default=list(LEVELS),
        help="concurrency levels, e.g. 1,8,32,64",
    )
    parser.add_argument(
        "--modes",
        type=lambda text: [part for part in text.split(",") if part in MODES],
        default=list(MODES),
        help="any of api,service,sql",
    )
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn workers")
    parser.add_argument("--reseed", action="store_true", help="drop the database and seed anew")
    options = parser.parse_args()
    if max(options.levels) > CONTRIBUTORS:
        parser.error(f"at most {CONTRIBUTORS} contributors")
    return options


def main() -> None:
    import django

    options = arguments()
    started = time.monotonic()
    ensure_database(reseed=options.reseed)
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("assessments_load", verbosity=0)
    project_id = seed()
    write(measure(project_id, options))
    print(f"bench: done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
