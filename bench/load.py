"""Load benchmark: a locust scenario against gunicorn, PostgreSQL, Redis and real Celery workers.

    python3 dev.py bench load                        # 50 users for 60 s
    python3 dev.py bench load --users 20 --time 30   # shorter

Seeds a dedicated database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/evalmarket_bench_load), made anew on each run, through Django:
the assessments content (`assessments_load`); one per-task project of 5,000 tasks (overlap 3, peer
review of half the submissions) and 40 active contributors, members of it, with API tokens;
8 reviewers with the reviewer role; 1,500 applicants ready for the Starter Assessment; 10 staff
with a logged-in session; 2 finance admins and a built payout batch of 300 payouts (some over the
four-eyes amount). Then it starts gunicorn (4 sync workers) on a free loopback port and 2 Celery
workers (`celery -A config worker`, all queues) on Redis database 12, and runs
bench/peers/load_locustfile.py headless with locust (pinned, in its own venv bench/.envs/locust,
made once) for a bounded number of users and seconds. Figures come from locust's CSV stats:
requests, requests per second, error rate, p50/p95/p99 by endpoint. Afterwards the Celery queues
are drained and the invariants checked in SQL. Results go to bench/results/load.json and the
table in bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/evalmarket_bench_load"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
os.environ["DATABASE_URL"] = BENCH_URL
os.environ["ALLOWED_HOSTS"] = "127.0.0.1"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ["LOG_LEVEL"] = "WARNING"

PEER_ENV = ROOT / "bench" / ".envs" / "locust"
PEER_PYTHON = PEER_ENV / "bin" / "python"
LOCUST = "locust==2.47.0"
LOCUSTFILE = ROOT / "bench" / "peers" / "load_locustfile.py"
TASKS = 5_000
OVERLAP = 3
CONTRIBUTORS = 40
REVIEWERS = 8
APPLICANTS = 1_500
STAFF = 10
EARNERS = 300
USERS = 50
SPAWN_RATE = 10
SECONDS = 60
WORKERS = 4  # gunicorn, as in the Procfile
CELERY_WORKERS = 2
TITLE = "Load benchmark"


def ensure_peer_env() -> str:
    """locust's own venv, made once and reused; returns the locust version installed there."""
    if not PEER_PYTHON.exists():
        print(f"bench: creating {PEER_ENV.relative_to(ROOT)}", flush=True)
        subprocess.run(["python3", "-m", "venv", str(PEER_ENV)], check=True)  # noqa: S603, S607
    wanted = LOCUST.split("==")[1]
    probe = [
        str(PEER_PYTHON),
        "-c",
        "from importlib.metadata import version; print(version('locust'))",
    ]
    installed = subprocess.run(probe, capture_output=True, text=True)  # noqa: S603
    if installed.stdout.strip() != wanted:
        print(f"bench: installing {LOCUST} into {PEER_ENV.relative_to(ROOT)}", flush=True)
        subprocess.run(  # noqa: S603
            [
                str(PEER_PYTHON),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                LOCUST,
            ],
            check=True,
        )
    return wanted


def recreate_database() -> None:
    import psycopg

    name = BENCH_URL.rsplit("/", 1)[1]
    admin_url = BENCH_URL.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def seed() -> dict[str, Any]:
    """Everything the scenario needs, made through the services and the test factories."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from evaluations.services import quality_settings_set
    from marketplace.services import membership_join
    from marketplace.services.payouts import batch_build
    from tests.contributors.factories import ContributorFactory
    from tests.evaluations.helpers import project_with_tasks, task_line
    from tests.evaluations.quality_helpers import reviewer
    from tests.marketplace.helpers import qualified, staff
    from tests.marketplace.payout_helpers import closed_period, earn, earner, finance

    started = time.monotonic()
    boss = staff()
    boss.is_superuser = True
    boss.save(update_fields=["is_superuser"])
    project = project_with_tasks(
        0,
        overlap=OVERLAP,
        actor=boss,
        title=TITLE,
        pay_model="per_task",
        task_minutes=5,
        pay_rate=Decimal("30.00"),
        capacity=1000,
    )
    from evaluations.services import tasks_import
    from tests.evaluations.helpers import jsonl

    tasks_import(
        project_id=project.pk, handle=jsonl([task_line(n) for n in range(TASKS)]), fmt="jsonl"
    )
    quality_settings_set(project_id=project.pk, actor=boss, peer_review=True, review_rate=0.5)

    def token(user: Any) -> str:
        return Token.objects.get_or_create(user=user)[0].key

    contributors = []
    for _ in range(CONTRIBUTORS):
        person = qualified("general")
        membership_join(project_id=project.pk, user=person)
        contributors.append(token(person))
    reviewers = [token(reviewer("general")) for _ in range(REVIEWERS)]
    applicants = [token(ContributorFactory(status="assessing")) for _ in range(APPLICANTS)]
    sessions = []
    for n in range(STAFF):
        person = boss if n == 0 else staff()
        if n:
            person.is_superuser = True
            person.save(update_fields=["is_superuser"])
        store = SessionStore()
        store[SESSION_KEY] = str(person.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = person.get_session_auth_hash()
        store.create()
        sessions.append(store.session_key)
    admins = [finance(), finance()]
    for n in range(EARNERS):
        # Amounts from $30 to about $6,000: the larger ones need two approvals (four eyes).
        earn(
            earner(),
            Decimal(30 + (n * 97) % 6000),
            approved_at=datetime.now(UTC) - timedelta(days=3),
        )
    batch = batch_build(period_id=closed_period(days_ago=1).pk)
    payouts = list(batch.payouts.order_by("id").values_list("id", flat=True))
    print(
        f"bench: seeded {TASKS:,} tasks, {len(payouts)} payouts in "
        f"{time.monotonic() - started:.0f} s",
        flush=True,
    )
    return {
        "project": project.pk,
        "contributors": contributors,
        "reviewers": reviewers,
        "applicants": applicants,
        "staff_sessions": sessions,
        "finance": [token(admin) for admin in admins],
        "payouts": payouts,
        "needs_two": batch.payouts.filter(needs_two=True).count(),
    }


def service_env() -> dict[str, str]:
    """gunicorn's and the Celery workers' environment: the bench database, Redis database 12."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",  # wsgi.py defaults to production
        "DATABASE_URL": BENCH_URL,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",  # a 5xx shows as "Internal Server Error" (counted)
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }


def start_celery(count: int) -> list[tuple[subprocess.Popen[bytes], Path]]:
    from django.conf import settings

    queues = ",".join(settings.CELERY_QUEUE_NAMES)
    started = []
    for n in range(count):
        log = Path(tempfile.mkstemp(prefix=f"bench-load-celery{n}-", suffix=".log")[1])
        command = [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            queues,
            "--concurrency",
            "1",
            "-n",
            f"load{n}@%h",
            "-l",
            "WARNING",
        ]
        with log.open("wb") as output:
            worker = subprocess.Popen(  # noqa: S603 - our own venv's celery, fixed arguments
                command, cwd=ROOT, env=service_env(), stdout=output, stderr=output
            )
        started.append((worker, log))
    return started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(workers: int) -> tuple[subprocess.Popen[bytes], int, Path]:
    """gunicorn on a free loopback port, as bench/claims.py starts it, on the bench database."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="bench-load-gunicorn-", suffix=".log")[1])
    command = [
        *(str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application"),
        *("--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning"),
    ]
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, fixed arguments
            command, cwd=ROOT, env=service_env(), stdout=output, stderr=output
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
    stop(server)
    raise RuntimeError(f"gunicorn did not answer on port {port}; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def queue_lengths() -> dict[str, int]:
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(REDIS_URL)
    return {name: client.llen(name) for name in settings.CELERY_QUEUE_NAMES}


def drain(timeout: float = 120) -> dict[str, int]:
    """Wait until the Celery queues are empty (the workers took every job), or the timeout."""
    deadline = time.monotonic() + timeout
    lengths = queue_lengths()
    while sum(lengths.values()) and time.monotonic() < deadline:
        time.sleep(1)
        lengths = queue_lengths()
    time.sleep(3)  # the last jobs taken finish
    return lengths


def run_locust(port: int, seed_file: Path, options: argparse.Namespace, out: Path) -> Path:
    prefix = out / "load"
    command = [
        str(PEER_ENV / "bin" / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(options.users),
        "-r",
        str(options.spawn_rate),
        "-t",
        f"{options.time}s",
        "--host",
        f"http://127.0.0.1:{port}",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "10",
    ]
    env = {"PATH": os.environ.get("PATH", ""), "LOAD_SEED": str(seed_file), "HOME": str(out)}
    with (out / "locust.log").open("wb") as output:
        subprocess.run(command, cwd=out, env=env, stdout=output, stderr=output, check=False)  # noqa: S603
    return prefix


def read_stats(prefix: Path) -> tuple[list[dict[str, Any]], dict[str, Any], list[dict[str, str]]]:
    def number(value: str) -> float | None:
        return None if value in ("", "N/A") else float(value)

    rows, total = [], {}
    with open(f"{prefix}_stats.csv") as handle:
        for row in csv.DictReader(handle):
            entry = {
                "endpoint": row["Name"],
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": round(float(row["Requests/s"]), 1),
                "p50_ms": number(row["50%"]),
                "p95_ms": number(row["95%"]),
                "p99_ms": number(row["99%"]),
                "max_ms": round(float(row["Max Response Time"] or 0)),
            }
            if row["Name"] == "Aggregated":
                total = entry
            else:
                rows.append(entry)
    failures = []
    path = Path(f"{prefix}_failures.csv")
    if path.exists():
        with path.open() as handle:
            failures = [
                {"endpoint": row["Name"], "error": row["Error"][:300], "count": row["Occurrences"]}
                for row in csv.DictReader(handle)
            ]
    return rows, total, failures


def checks(project_id: int) -> dict[str, int]:
    """The invariants of issue 8 point 5, over everything the run did; each must be 0."""
    from django.db import connection

    queries = {
        "repeated (task, contributor) assignments": (
            "SELECT count(*) FROM (SELECT 1 FROM evaluations_assignment WHERE project_id = %(p)s"
            " GROUP BY task_id, contributor_id HAVING count(*) > 1) AS repeated"
        ),
        "tasks filled past overlap": (
            "SELECT count(*) FROM evaluations_task WHERE project_id = %(p)s AND filled > overlap"
        ),
        "tasks with more submissions than overlap": (
            "SELECT count(*) FROM (SELECT s.task_id FROM evaluations_submission s"
            " JOIN evaluations_task t ON t.id = s.task_id WHERE s.project_id = %(p)s"
            " GROUP BY s.task_id, t.overlap HAVING count(*) > t.overlap) AS over"
        ),
        "people with more than one Starter attempt": (
            "SELECT count(*) FROM (SELECT user_id FROM assessments_attempt WHERE is_starter"
            " GROUP BY user_id HAVING count(*) > 1) AS twice"
        ),
        "overlapping work sessions of one person": (
            "SELECT count(*) FROM marketplace_worksession a JOIN marketplace_worksession b"
            " ON a.user_id = b.user_id AND a.id < b.id"
            " AND tstzrange(a.started_at, coalesce(a.ended_at, 'infinity'))"
            " && tstzrange(b.started_at, coalesce(b.ended_at, 'infinity'))"
        ),
        "payouts approved more than once": (
            "SELECT count(*) FROM (SELECT payout_id FROM marketplace_payoutaudit"
            " WHERE action IN ('approved', 'second_approval') GROUP BY payout_id"
            " HAVING count(*) > 1) AS twice"
        ),
        "payouts approved by their own contributor or twice by one admin": (
            "SELECT count(*) FROM marketplace_payout WHERE approved_by_id = contributor_id"
            " OR first_approved_by_id = contributor_id OR first_approved_by_id = approved_by_id"
        ),
    }
    with connection.cursor() as cursor:
        found = {}
        for name, sql in queries.items():
            cursor.execute(sql, {"p": project_id})
            found[name] = cursor.fetchone()[0]
    return found


def counts(project_id: int) -> dict[str, Any]:
    from django.db import connection

    queries = {
        "assignments": "SELECT count(*) FROM evaluations_assignment WHERE project_id = %(p)s",
        "submissions": "SELECT count(*) FROM evaluations_submission WHERE project_id = %(p)s",
        "reviews decided": "SELECT count(*) FROM evaluations_review WHERE status = 'done'",
        "work sessions": "SELECT count(*) FROM marketplace_worksession",
        "starter attempts": "SELECT count(*) FROM assessments_attempt WHERE is_starter",
        "starter attempts scored": (
            "SELECT count(*) FROM assessments_attempt WHERE is_starter AND status <> 'in_progress'"
            " AND score_points IS NOT NULL"
        ),
        "payouts approved": "SELECT count(*) FROM marketplace_payout WHERE state = 'approved'",
        "payouts awaiting a second approval": (
            "SELECT count(*) FROM marketplace_payout WHERE state = 'awaiting_second'"
        ),
    }
    with connection.cursor() as cursor:
        found = {}
        for name, sql in queries.items():
            cursor.execute(sql, {"p": project_id})
            found[name] = cursor.fetchone()[0]
    return found


def machine() -> str:
    memory = ""
    try:
        with open("/proc/meminfo") as handle:
            memory = f", {int(handle.readline().split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return (
        f"{platform.machine()}, {os.cpu_count()} cores{memory}, Python "
        f"{platform.python_version()}, {platform.system()}"
    )


def write(record: dict[str, Any]) -> None:
    (ROOT / "bench" / "results" / "load.json").write_text(json.dumps(record, indent=2) + "\n")
    total, sizes, settings = record["total"], record["sizes"], record["settings"]
    lines = [
        f"Measured {record['date']} on {record['machine']}, PostgreSQL {record['postgres']}, "
        f"locust {record['locust']}; {settings['users']} users (spawned "
        f"{settings['spawn_rate']:g}/s) "
        f"for {settings['seconds']} s against gunicorn ({settings['gunicorn_workers']} sync "
        f"workers) with {settings['celery_workers']} Celery workers on Redis; load generator, "
        f"server, workers and PostgreSQL share the machine. Seed: {sizes['tasks']:,} tasks "
        f"(overlap {sizes['overlap']}), {sizes['contributors']} contributors, "
        f"{sizes['reviewers']} reviewers, {sizes['applicants']:,} applicants, {sizes['staff']} "
        f"staff, {sizes['payouts']} payouts ({sizes['needs_two']} needing two approvals).",
        "",
        f"**{total['requests']:,} requests, {total['rps']} requests/s, error rate "
        f"{record['error_rate']:.2%}** ({total['failures']} failures; a refusal the service is "
        f"meant to give, such as the 409 of the losing racer, is not one); overall p50 "
        f"{total['p50_ms']} ms, p95 {total['p95_ms']} ms, p99 {total['p99_ms']} ms.",
        "",
        "| endpoint | requests | failures | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in record["endpoints"]:
        lines.append(
            f"| `{row['endpoint']}` | {row['requests']:,} | {row['failures']} | {row['rps']} | "
            f"{row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | {row['max_ms']} |"
        )
    lines += [
        "",
        "Done in the run: " + "; ".join(f"{k}: {v:,}" for k, v in record["counts"].items()) + ".",
        "",
        "Invariants after the run (each must be 0): "
        + "; ".join(f"{name}: {value}" for name, value in record["checks"].items())
        + ".",
    ]
    if record["failures"]:
        lines += ["", "Failures:", ""] + [
            f"- `{row['endpoint']}` ×{row['count']}: {row['error']}" for row in record["failures"]
        ]
    table = "\n".join(lines)
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()  # read right before writing: others add their sections too
    start, end = "<!-- load:start -->", "<!-- load:end -->"
    if start not in text:
        text = text.rstrip("\n") + "\n\n" + SECTION + f"\n{start}\n{end}\n"
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    readme.write_text(f"{before}{start}\n{table}\n{end}{after}")
    print(table)


SECTION = """## Load

    python3 dev.py bench load          # options: --users 50 --spawn-rate 10 --time 60

A locust scenario (`bench/peers/load_locustfile.py`; locust pinned in its own venv
`bench/.envs/locust`, never a dependency of the service) against gunicorn with 4 sync workers on a
free loopback port, PostgreSQL and 2 real Celery workers on Redis database 12. The database
(`evalmarket_bench_load`) is made anew on each run through Django: a per-task project of 5,000
tasks (overlap 3, peer review of half the submissions), 40 contributors with API tokens, 8
reviewers, 1,500 applicants ready for the Starter Assessment, 10 staff with a logged-in session, 2
finance admins and a built payout batch of 300 payouts. Users by weight: contributors 10 (next
task → submit; time sessions started, heartbeated and stopped, with a second start racing the
first 30% of the time; their dashboard), reviewers 3 (next review → verdict), applicants 2 (two
Starter starts at once for the same person, then submit), staff 2 (dashboard, quality and manage
pages, admin changelists of tasks and payouts), finance 1 (two admins approving the same payout at
once). Figures are locust's (its CSV stats); afterwards the Celery queues are drained and SQL
checks the invariants: no repeated (task, contributor) assignment, no task past its overlap, at
most one Starter attempt per person, no overlapping work sessions of one person, no payout
approved twice, by its own contributor, or twice by one admin.
"""


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=USERS, help="locust users")
    parser.add_argument("--spawn-rate", type=float, default=SPAWN_RATE, help="users started per s")
    parser.add_argument("--time", type=int, default=SECONDS, help="seconds of load")
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn workers")
    parser.add_argument("--celery", type=int, default=CELERY_WORKERS, help="Celery workers")
    options = parser.parse_args()
    if not 1 <= options.users <= 200 or not 5 <= options.time <= 300:
        parser.error("keep the load bounded: 1-200 users, 5-300 seconds")
    return options


def main() -> None:
    import django
    import redis

    options = arguments()
    started = time.monotonic()
    version = ensure_peer_env()
    recreate_database()
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command("assessments_load", verbosity=0)
    seeded = seed()
    redis.Redis.from_url(REDIS_URL).flushdb()  # the bench's own Redis database only
    out = Path(tempfile.mkdtemp(prefix="bench-load-"))
    seed_file = out / "seed.json"
    seed_file.write_text(json.dumps(seeded))
    workers = start_celery(options.celery)
    server, server_errors = None, 0
    try:
        server, port, log = start_gunicorn(options.workers)
        print(
            f"bench: gunicorn ({options.workers} workers) on 127.0.0.1:{port}, "
            f"{options.celery} Celery workers; locust {options.users} users for "
            f"{options.time} s (files in {out})",
            flush=True,
        )
        prefix = run_locust(port, seed_file, options, out)
        left = drain()
    finally:
        if server is not None:
            stop(server)
            server_errors = log.read_text(errors="replace").count("Internal Server Error")
            if not log.stat().st_size:
                log.unlink()
            else:
                print(f"bench: gunicorn wrote to {log}")
        for worker, _ in workers:
            stop(worker)
    for _, worker_log in workers:
        text = worker_log.read_text(errors="replace")
        if "Traceback" in text or "ERROR" in text:
            print(f"bench: a Celery worker logged errors; see {worker_log}")
    endpoints, total, failures = read_stats(prefix)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    record = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "postgres": postgres,
        "locust": version,
        "command": "python3 dev.py bench load",
        "settings": {
            "users": options.users,
            "spawn_rate": options.spawn_rate,
            "seconds": options.time,
            "gunicorn_workers": options.workers,
            "celery_workers": options.celery,
            "redis": REDIS_URL,
        },
        "sizes": {
            "tasks": TASKS,
            "overlap": OVERLAP,
            "contributors": CONTRIBUTORS,
            "reviewers": REVIEWERS,
            "applicants": APPLICANTS,
            "staff": STAFF,
            "payouts": len(seeded["payouts"]),
            "needs_two": seeded["needs_two"],
        },
        "total": total,
        "error_rate": round(total["failures"] / max(1, total["requests"]), 4),
        "server_errors_5xx": server_errors,
        "endpoints": endpoints,
        "failures": failures,
        "celery_queues_left": left,
        "counts": counts(seeded["project"]),
        "checks": checks(seeded["project"]),
    }
    write(record)
    bad = sum(record["checks"].values())
    print(
        f"FIGURE load: users={options.users} seconds={options.time} "
        f"requests={total['requests']} rps={total['rps']} error_rate={record['error_rate']:.4f} "
        f"p50_ms={total['p50_ms']} p95_ms={total['p95_ms']} p99_ms={total['p99_ms']} "
        f"server_errors_5xx={server_errors} invariant_violations={bad}"
    )
    print(f"bench: done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
