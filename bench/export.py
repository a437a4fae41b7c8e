"""Export benchmark: streaming exports of projects of 100,000 and 1,000,000 tasks.

    python3 dev.py bench export                          # seeds once, then measures
    python3 dev.py bench export --sizes 100000           # one project only
    python3 dev.py bench export --exports raw:jsonl,raw:csv
    python3 dev.py bench export --reseed                 # drop the database, seed anew

Uses its own PostgreSQL database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/evalmarket_bench_export), seeded on the first run with two
per-task projects (the form of tests/evaluations/helpers.py: a rating per response, a preference
with its strength and a rationale; overlap 3) whose 100,000 and 1,000,000 tasks come in through
`tasks_import` from generated JSONL streamed to /tmp. Every task then gets 3 accepted
submissions from 30 contributors who are members of both projects, written with SQL
`INSERT … SELECT` (an assignment, submitted, and its submission, with answers that pass the
form's checks; `filled` and `completed` as the service would leave them). No ledger entries:
an export does not read them.

Each export (raw as JSONL and CSV, results and preferences as JSONL, by default) runs through
`export_stream` in a fresh Python process, so that the memory measured is that export's own:
the bytes go to /dev/null, and it reports rows, bytes, wall time, rows/s, MB/s, the time to the
first chunk, the SQL queries, the resident set before and its peak (VmHWM reset just before, and
sampled every 20 ms from /proc/self/status). Measuring waits until no other benchmark is at
work and no pytest is running (a benchmark that has used no CPU for 30 s is waiting itself,
maybe for this one, and is not waited for); the two sizes of one kind and format run back to
back, and again (up to --attempts times) when another benchmark or pytest worked meanwhile, or
when the service's code changed under them. Results go to bench/results/export.json and the
table in bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/evalmarket_bench_export"
)
os.environ["DATABASE_URL"] = BENCH_URL
os.environ["ALLOWED_HOSTS"] = "testserver"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ["LOG_LEVEL"] = "WARNING"

SIZES = (100_000, 1_000_000)
EXPORTS = (("raw", "jsonl"), ("raw", "csv"), ("results", "jsonl"), ("preferences", "jsonl"))
OVERLAP = 3  # accepted submissions per task
CONTRIBUTORS = 30
CHUNK_TASKS = 100_000  # tasks per INSERT … SELECT transaction while seeding
FLAT = 1.25  # the largest export's peak memory may exceed the smallest's by at most 25%
SAMPLE_SECONDS = 0.02
BUSY_WARNING = 0.10
TITLE = "Export benchmark"
STAFF_EMAIL = "export-staff@bench.local"
RATIONALE = "The first one answers the question directly and correctly."
# Measuring waits while any of these runs (regular expressions for pgrep -f): another
# benchmark of bench/ (bench/claims.py among them), or a test run.
OTHERS = (r"bench/[a-z_]+\.py", "pytest")
MINE = "bench/export.py"
WATCH_SECONDS = 2.0  # how often others are looked for during an export
IDLE_SECONDS = 30.0  # a benchmark that used no CPU this long is waiting, not at work
IDLE_CPU = 0.2  # CPU seconds between two looks that count as using the CPU
QUIET_WAIT = 60.0  # seconds to wait for the machine to go quiet before an export
ATTEMPTS = 3  # an export disturbed by others (or by a change of code) is measured again
APPS = ("common", "config", "contributors", "marketplace", "evaluations", "assessments")

ASSIGNMENTS_SQL = """
WITH picked AS (
    SELECT t.id AS task_id, t.project_id, k,
        (%(people)s::bigint[])[(1 + mod(t.id + k * 10, %(count)s))::int] AS contributor_id,
        CASE WHEN mod(t.id + k, 2) = 0
            THEN jsonb_build_array(t.responses -> 0 -> 'id', t.responses -> 1 -> 'id')
            ELSE jsonb_build_array(t.responses -> 1 -> 'id', t.responses -> 0 -> 'id')
        END AS response_order,
        30 + mod(t.id * 13 + k * 7, 600) AS active_seconds,
        %(at)s::timestamptz + make_interval(mins => (k * 90 + mod(t.id, 1000))::int) AS leased_at
    FROM evaluations_task t CROSS JOIN generate_series(0, %(overlap)s - 1) AS k
    WHERE t.project_id = %(project)s AND t.id BETWEEN %(low)s AND %(high)s
)
INSERT INTO evaluations_assignment (task_id, project_id, contributor_id, status, leased_at,
    lease_expires_at, form_id, response_order, draft, active_seconds, last_active_at,
    skip_reason, closed_at)
SELECT task_id, project_id, contributor_id, 'submitted', leased_at,
    leased_at + interval '30 minutes', %(form)s, response_order, '{}'::jsonb, active_seconds,
    leased_at + make_interval(secs => active_seconds), '',
    leased_at + make_interval(secs => active_seconds)
FROM picked ORDER BY task_id, k
"""

# Answers to the helpers' FORM: a rating (1-7) per response, a preference with a strength
# (1-3; one in four prefers the second response) and the rationale, keyed by the task's ids.
SUBMISSIONS_SQL = """
INSERT INTO evaluations_submission (assignment_id, task_id, project_id, contributor_id, form_id,
    answers, prelabel_usage, response_order, active_seconds, status, checks, flags, is_gold,
    gold_correct, rationale_signature, decided_at, review_started_at, created_at, updated_at)
SELECT a.id, a.task_id, a.project_id, a.contributor_id, a.form_id,
    jsonb_build_object(
        'helpfulness', jsonb_build_object(
            t.responses -> 0 ->> 'id', 1 + mod(a.id * 7, 7),
            t.responses -> 1 ->> 'id', 1 + mod(a.id * 3 + 2, 7)),
        'better', jsonb_build_object(
            'choice', CASE WHEN mod(a.id, 4) = 0
                THEN t.responses -> 1 ->> 'id' ELSE t.responses -> 0 ->> 'id' END,
            'strength', 1 + mod(a.id, 3)),
        'rationale', %(rationale)s::text),
    '{}'::jsonb, a.response_order, a.active_seconds, 'accepted', '{"form": "passed"}'::jsonb,
    '[]'::jsonb, false, NULL, NULL, NULL, NULL, a.closed_at, a.closed_at
FROM evaluations_assignment a JOIN evaluations_task t ON t.id = a.task_id
WHERE a.project_id = %(project)s AND a.task_id BETWEEN %(low)s AND %(high)s
ORDER BY a.id
"""

FILL_SQL = """
UPDATE evaluations_task SET filled = %(overlap)s, completed = %(overlap)s
WHERE project_id = %(project)s AND id BETWEEN %(low)s AND %(high)s
"""


def title(size: int) -> str:
    return f"{TITLE} {size:,} tasks"


def exporter(n: int) -> str:
    return f"exporter{n}@bench.local"


def ensure_database(*, reseed: bool) -> None:
    """Create the database (dropped first when asked)."""
    import psycopg

    name = BENCH_URL.rsplit("/", 1)[1]
    admin_url = BENCH_URL.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if exists and reseed:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if not exists or reseed:
            connection.execute(f'CREATE DATABASE "{name}"')


def task_lines(count: int, prefix: str) -> Iterator[bytes]:
    """JSONL task lines: a prompt and two responses, as a customer's export would have them."""
    import orjson

    for n in range(count):
        yield (
            orjson.dumps(
                {
                    "external_id": f"{prefix}{n}",
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
                    "metadata": {"source": "bench", "batch": n // 10_000},
                }
            )
            + b"\n"
        )


def write_file(count: int) -> Path:
    """The file of `count` task lines in /tmp, written in chunks, never held in memory."""
    handle, name = tempfile.mkstemp(prefix=f"bench-export-{count}-", suffix=".jsonl")
    chunk: list[bytes] = []
    with os.fdopen(handle, "wb", buffering=1 << 20) as output:
        for line in task_lines(count, prefix=f"e{count}-"):
            chunk.append(line)
            if len(chunk) == 10_000:
                output.write(b"".join(chunk))
                chunk.clear()
        output.write(b"".join(chunk))
    return Path(name)


def staff_user() -> Any:
    from contributors.models import User
    from contributors.services import user_create

    return User.objects.filter(email=STAFF_EMAIL).first() or user_create(
        email=STAFF_EMAIL,
        password=None,
        full_name="Export bench staff",
        roles=("staff",),
        is_staff=True,
        email_verified=True,
    )


def project_for(size: int, staff: Any) -> Any:
    """The per-task project of `size` tasks (made through the services the first time)."""
    from evaluations.services import form_set, settings_set
    from marketplace.models import Project
    from marketplace.services import project_create, project_transition
    from tests.evaluations.helpers import FORM

    project = Project.objects.filter(title=title(size)).first()
    if project is None:
        project = project_create(
            actor=staff,
            data={
                "title": title(size),
                "description": "Compare two answers, three people per task; exported.",
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
    return project


def contributors(projects: list[Any]) -> list[int]:
    """CONTRIBUTORS active people qualified `general`, members of every project; their ids."""
    from contributors.models import ContributorProfile, Qualification, User
    from contributors.services import user_create
    from marketplace.services import membership_join

    ids = []
    for n in range(CONTRIBUTORS):
        user = User.objects.filter(email=exporter(n)).first()
        if user is None:
            user = user_create(
                email=exporter(n), password=None, full_name=f"Exporter {n}", email_verified=True
            )
            ContributorProfile.objects.filter(user=user).update(
                status="active", application_submitted_at=user.date_joined
            )
            Qualification.objects.create(user=user, code="general", source="bench")
        for project in projects:
            membership_join(project_id=project.pk, user=user)
        ids.append(user.pk)
    return ids


def sql_one(sql: str, params: list[Any]) -> Any:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def fill(project: Any, people: list[int]) -> None:
    """Every task gets OVERLAP accepted submissions, in transactions of CHUNK_TASKS tasks."""
    import psycopg

    from evaluations.selectors import form_current

    form_id = form_current(project=project.pk).pk
    low = sql_one("SELECT min(id) FROM evaluations_task WHERE project_id = %s", [project.pk])
    high = sql_one("SELECT max(id) FROM evaluations_task WHERE project_id = %s", [project.pk])
    at = datetime.now(UTC) - timedelta(days=30)
    with psycopg.connect(BENCH_URL.replace("postgres://", "postgresql://")) as connection:
        for start in range(low, high + 1, CHUNK_TASKS):
            params = {
                "project": project.pk,
                "low": start,
                "high": min(high, start + CHUNK_TASKS - 1),
                "people": people,
                "count": len(people),
                "overlap": OVERLAP,
                "at": at,
                "form": form_id,
                "rationale": RATIONALE,
            }
            with connection.transaction():
                connection.execute(ASSIGNMENTS_SQL, params)
                connection.execute(SUBMISSIONS_SQL, params)
                connection.execute(FILL_SQL, params)
            print(f"bench: {project.title}: tasks up to {params['high']} filled", flush=True)


def check_answers(project: Any) -> None:
    """A sample of the seeded answers passes the form's checks unchanged."""
    from evaluations.answers import answers_check
    from evaluations.models import Submission
    from evaluations.selectors import form_schema

    sample = Submission.objects.filter(project=project).select_related("task", "form")
    for submission in sample.order_by("?")[:200]:
        form = form_schema(submission.form)
        clean, problems = answers_check(
            form=form,
            responses=submission.task.responses,
            code=submission.task.code,
            answers=submission.answers,
        )
        assert not problems, (submission.pk, problems)
        assert clean == submission.answers, (submission.pk, clean, submission.answers)


def counts(project_id: int) -> dict[str, int]:
    from django.db import connection

    queries = {
        "tasks": "SELECT count(*) FROM evaluations_task WHERE project_id = %s",
        "assignments": "SELECT count(*) FROM evaluations_assignment WHERE project_id = %s",
        "submissions": "SELECT count(*) FROM evaluations_submission WHERE project_id = %s"
        " AND status = 'accepted'",
        "tasks_not_full": "SELECT count(*) FROM evaluations_task WHERE project_id = %s"
        " AND NOT (filled = overlap AND completed = overlap)",
    }
    with connection.cursor() as cursor:
        found = {}
        for name, sql in queries.items():
            cursor.execute(sql, [project_id])
            found[name] = cursor.fetchone()[0]
    return found


def seed(sizes: list[int]) -> tuple[dict[int, int], dict[str, Any]]:
    """The projects, their tasks, contributors and submissions; what was there is reused."""
    from django.db import connection

    from evaluations.services import tasks_import

    started = time.monotonic()
    staff = staff_user()
    projects = {size: project_for(size, staff) for size in sizes}
    people = contributors(list(projects.values()))
    done = []
    for size, project in projects.items():
        found = counts(project.pk)
        complete = found["tasks"] == size and found["submissions"] == size * OVERLAP
        if complete and not found["tasks_not_full"]:
            done.append(size)
            continue
        if found["tasks"] not in (0, size):
            raise SystemExit(
                f"bench: {project.title} holds {found['tasks']:,} tasks; run with --reseed"
            )
        if found["tasks"] == 0:
            path = write_file(size)
            try:
                print(f"bench: importing {size:,} tasks from {path}", flush=True)
                with path.open("rb") as handle:
                    result = tasks_import(project_id=project.pk, handle=handle, fmt="jsonl")
            finally:
                path.unlink()
            assert result.imported == size, (result.imported, result.invalid, result.errors[:3])
        if found["assignments"] or found["submissions"]:
            with connection.cursor() as cursor:  # a fill cut short: start it again
                for table in ("evaluations_submission", "evaluations_assignment"):
                    cursor.execute(f"DELETE FROM {table} WHERE project_id = %s", [project.pk])  # noqa: S608
                cursor.execute(
                    "UPDATE evaluations_task SET filled = 0, completed = 0 WHERE project_id = %s",
                    [project.pk],
                )
        fill(project, people)
        check_answers(project)
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM (ANALYZE) evaluations_task, evaluations_assignment, evaluations_submission"
        )
    sizes_found = {}
    for size, project in projects.items():
        found = counts(project.pk)
        assert found["tasks"] == size, found
        assert found["submissions"] == found["assignments"] == size * OVERLAP, found
        assert found["tasks_not_full"] == 0, found
        found["contributors"] = len(people)
        sizes_found[str(size)] = found
    seconds = time.monotonic() - started
    reused = len(done) == len(sizes)
    print(f"bench: seed {'reused' if reused else 'made'} in {seconds:.0f} s", flush=True)
    seeding = {"seconds": round(seconds), "reused": reused, "projects": sizes_found}
    return {size: project.pk for size, project in projects.items()}, seeding


def rss_kib(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak() -> None:
    """Start VmHWM (the peak resident set) afresh, so it tells the export's own peak."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass  # then VmHWM may keep an earlier peak; the sampled peak still tells the export's


class Sampler(threading.Thread):
    """The largest resident set seen while it runs, read every SAMPLE_SECONDS."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = rss_kib()
        self.samples = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_SECONDS):
            self.peak = max(self.peak, rss_kib())
            self.samples += 1

    def stop(self) -> int:
        self.done.set()
        self.join()
        self.peak = max(self.peak, rss_kib())
        return self.peak


class QueryCounter:
    """Counts the SQL statements run (a server-side cursor's FETCHes are not statements)."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


def one_export(project_id: int, kind: str, fmt: str) -> dict[str, Any]:
    """In the child process: the whole export to /dev/null, measured."""
    import django

    django.setup()
    from django.db import connection

    from evaluations.services import export_stream
    from marketplace.models import Project

    project = Project.objects.get(pk=project_id)
    counter = QueryCounter()
    gc.collect()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    reset_peak()
    before = rss_kib()
    sampler = Sampler()
    sampler.start()
    size = newlines = chunks = 0
    first = None
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink, connection.execute_wrapper(counter):
        for chunk in export_stream(project=project, kind=kind, fmt=fmt):
            if first is None:
                first = time.perf_counter() - started
            sink.write(chunk)
            size += len(chunk)
            newlines += chunk.count(b"\n")
            chunks += 1
    seconds = time.perf_counter() - started
    sampled = sampler.stop()
    peak = max(sampled, rss_kib("VmHWM"))
    after = resource.getrusage(resource.RUSAGE_SELF)
    rows = newlines - 1 if fmt == "csv" else newlines  # a CSV starts with its header
    return {
        "rows": rows,
        "bytes": size,
        "chunks": chunks,
        "seconds": round(seconds, 2),
        "first_chunk_s": round(first or 0.0, 2),
        "rows_per_s": round(rows / seconds),
        "mb_per_s": round(size / 1e6 / seconds, 1),
        "queries": counter.count,
        "query_execute_s": round(counter.seconds, 2),
        "cpu_s": round(
            after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime,
            1,
        ),
        "rss_before_mib": round(before / 1024, 1),
        "rss_peak_mib": round(peak / 1024, 1),
        "rss_growth_mib": round((peak - before) / 1024, 1),
        "rss_sampled_peak_mib": round(sampled / 1024, 1),
        "rss_samples": sampler.samples,
    }


def others_running() -> dict[int, str]:
    """Other benchmarks or test runs on this machine: their command lines, by pid."""
    found = {}
    for pattern in OTHERS:
        listed = subprocess.run(  # noqa: S603 - pgrep with our own fixed patterns
            ["pgrep", "-af", pattern],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
        for line in listed.stdout.splitlines():
            pid, _, command = line.partition(" ")
            if MINE not in command:
                found[int(pid)] = command
    return found


def cpu_seconds(pid: int) -> float | None:
    """CPU time a process has used so far (None once it has ended)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Others:
    """Watches the other benchmarks and test runs. A test run always counts as at work; a
    benchmark only while it uses the CPU: one that has used none for IDLE_SECONDS is waiting
    itself (maybe for this one, as bench/aggregation.py waits for bench/export.py), and waiting
    for it too would never end."""

    def __init__(self) -> None:
        self.cpu: dict[int, float] = {}  # CPU seconds when last seen using some
        self.since: dict[int, float] = {}  # when it was last seen using some

    def working(self) -> dict[int, str]:
        now = time.monotonic()
        busy = {}
        for pid, command in others_running().items():
            used = cpu_seconds(pid)
            if used is None:
                continue
            if "pytest" in command or used - self.cpu.get(pid, -1.0) > IDLE_CPU:
                self.cpu[pid], self.since[pid] = used, now
            if "pytest" in command or now - self.since[pid] < IDLE_SECONDS:
                busy[pid] = command
        return busy


def wait_for_quiet(others: Others) -> float:
    """Wait until no other benchmark is at work and no pytest runs; the seconds waited."""
    started = time.monotonic()
    told = 0.0
    while found := others.working():
        waited = time.monotonic() - started
        if not told or waited - told >= 300:
            told = waited or 1e-9
            print(
                f"bench: waiting for {len(found)} other process(es) to end before measuring: "
                + "; ".join(f"{pid} {command[:100]}" for pid, command in list(found.items())[:3]),
                flush=True,
            )
        time.sleep(5)
    return time.monotonic() - started


def cpu_times() -> tuple[int, int]:
    """The machine's busy and total CPU time so far, in clock ticks of all cores."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def cpu_busy(seconds: float = 2.0) -> float:
    """The share of the machine's CPU time that was busy over `seconds` (others' work too)."""
    busy_before, total_before = cpu_times()
    time.sleep(seconds)
    busy_after, total_after = cpu_times()
    return (busy_after - busy_before) / max(1, total_after - total_before)


def code_fingerprint() -> str:
    """Names, sizes and times of the service's Python files: tells whether the code changed."""
    import hashlib

    digest = hashlib.sha256()
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            stat = path.stat()
            digest.update(f"{path.relative_to(ROOT)} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def warm_cache() -> float:
    """Read the exported tables once, so that no export pays for the disk alone."""
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        for table in ("evaluations_task", "evaluations_assignment", "evaluations_submission"):
            cursor.execute(f"SELECT sum(pg_column_size(t.*)) FROM {table} t")  # noqa: S608
    return time.monotonic() - started


def expected_rows(kind: str, tasks: int) -> int:
    # raw and results: a row per task; preferences: a pair per submission (two responses).
    return tasks * OVERLAP if kind == "preferences" else tasks


def postgres_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL processes running now."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += cpu_seconds(int(entry.name)) or 0.0
            except OSError:
                pass  # it ended meanwhile
    return total


def own_cpu(who: int) -> float:
    used = resource.getrusage(who)
    return used.ru_utime + used.ru_stime


def export_once(size: int, project_id: int, kind: str, fmt: str, others: Others) -> dict[str, Any]:
    """One export in a fresh process, once nothing else runs; who else worked meanwhile noted:
    other benchmarks and pytest by name, anything else by the CPU it took."""
    waited = wait_for_quiet(others)
    if waited > 1:
        print(f"bench: waited {waited:.0f} s for others to finish", flush=True)
    deadline = time.monotonic() + QUIET_WAIT
    while (busy := cpu_busy(2.0)) > BUSY_WARNING and time.monotonic() < deadline:
        pass  # someone else's work, not a benchmark's: give it a minute to end
    if busy > BUSY_WARNING:
        print(f"bench: warning: the machine was {busy:.0%} busy before this export")
    seen: set[str] = set()
    cores = os.cpu_count() or 1
    started = time.monotonic()
    busy_start, total_start = cpu_times()
    cpu_start = own_cpu(resource.RUSAGE_SELF) + own_cpu(resource.RUSAGE_CHILDREN)
    postgres_start = postgres_cpu()
    with tempfile.TemporaryFile("w+") as output, tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen(  # noqa: S603 - this script, with our own arguments
            [sys.executable, __file__, "--child", str(project_id), kind, fmt],
            cwd=ROOT,
            stdout=output,
            stderr=errors,
            text=True,
        )
        while child.poll() is None:
            seen.update(f"{pid} {command[:100]}" for pid, command in others.working().items())
            time.sleep(WATCH_SECONDS)
        output.seek(0)
        errors.seek(0)
        stdout, stderr = output.read(), errors.read()
    busy_end, total_end = cpu_times()
    mine = own_cpu(resource.RUSAGE_SELF) + own_cpu(resource.RUSAGE_CHILDREN) - cpu_start
    postgres = postgres_cpu() - postgres_start
    elapsed = time.monotonic() - started
    # The machine's busy time less this script's, its export's and PostgreSQL's: other work.
    other = (busy_end - busy_start) / os.sysconf("SC_CLK_TCK") - mine - max(0.0, postgres)
    if child.returncode:
        print(stdout, stderr, sep="\n", file=sys.stderr)
        raise SystemExit(f"bench: the export {kind} {fmt} of {size:,} tasks failed")
    result = json.loads(stdout.rsplit("RESULT ", 1)[1])
    expected = expected_rows(kind, size)
    assert result["rows"] == expected, (size, kind, fmt, result["rows"], expected)
    run = {"tasks": size, "kind": kind, "format": fmt, **result}
    run["cpu_busy_before"] = round(busy, 2)
    run["cpu_busy_during"] = round((busy_end - busy_start) / max(1, total_end - total_start), 2)
    run["postgres_cpu_s"] = round(postgres, 1)
    run["others_cpu_share"] = round(max(0.0, other) / (elapsed * cores), 2)
    run["waited_s"] = round(waited)
    run["others_during"] = sorted(seen)
    run["disturbed"] = bool(seen) or run["others_cpu_share"] > BUSY_WARNING
    print(
        f"bench: {size:,} tasks, {kind} {fmt}: {run['rows']:,} rows, "
        f"{run['bytes'] / 1e6:,.0f} MB in {run['seconds']} s ({run['rows_per_s']:,} "
        f"rows/s, {run['mb_per_s']} MB/s), {run['queries']} queries, RSS "
        f"{run['rss_before_mib']} → {run['rss_peak_mib']} MiB; others' CPU "
        f"{run['others_cpu_share']:.0%} of the machine"
        + (f"; others ran meanwhile: {'; '.join(sorted(seen))}" if seen else ""),
        flush=True,
    )
    return run


def measure(
    projects: dict[int, int], exports: list[tuple[str, str]], attempts: int
) -> list[dict[str, Any]]:
    """Each kind and format at every size, back to back, so that the sizes compared run the
    same code; done again (up to `attempts` times) when another benchmark or pytest ran
    meanwhile, or when the service's code changed under it."""
    runs = []
    others = Others()
    for kind, fmt in exports:
        for attempt in range(1, attempts + 1):
            code = code_fingerprint()
            pair = [
                export_once(size, project_id, kind, fmt, others)
                for size, project_id in projects.items()
            ]
            changed = code_fingerprint() != code
            disturbed = changed or any(run["disturbed"] for run in pair)
            for run in pair:
                run["attempt"] = attempt
                run["code"] = code
                run["code_changed_during"] = changed
            if not disturbed:
                break
            print(
                f"bench: {kind} {fmt}: "
                + ("the code changed" if changed else "others worked")
                + (" meanwhile; measuring again" if attempt < attempts else "; keeping it"),
                flush=True,
            )
        runs += pair
    return runs


def goals(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flat memory per kind and format: the largest project's peak against the smallest's."""
    found = []
    for kind, fmt in dict.fromkeys((run["kind"], run["format"]) for run in runs):
        by = {run["tasks"]: run for run in runs if (run["kind"], run["format"]) == (kind, fmt)}
        smallest, largest = by[min(by)], by[max(by)]
        ratio = largest["rss_peak_mib"] / smallest["rss_peak_mib"]
        found.append(
            {
                "goal": f"flat memory, {kind} {fmt}: peak at {largest['tasks']:,} tasks at most "
                f"{(FLAT - 1) * 100:.0f}% above the peak at {smallest['tasks']:,}"
                if len(by) > 1
                else f"flat memory, {kind} {fmt}: needs two sizes",
                "measured": f"{largest['rss_peak_mib']} / {smallest['rss_peak_mib']} MiB "
                f"= {ratio:.2f}"
                if len(by) > 1
                else "one size only",
                "met": None if len(by) < 2 else ratio <= FLAT,
            }
        )
    return found


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


def write(record: dict[str, Any]) -> None:
    (ROOT / "bench" / "results" / "export.json").write_text(json.dumps(record, indent=2) + "\n")
    mark = {True: "met", False: "**not met**", None: "not run"}
    projects = record["seeding"]["projects"]
    sizes = "; ".join(
        f"{found['tasks']:,} tasks with {found['submissions']:,} accepted submissions"
        for found in projects.values()
    )
    busy = [run["cpu_busy_before"] for run in record["runs"]]
    lines = [
        f"Measured {record['date']} on {record['machine']}, PostgreSQL {record['postgres']}; "
        f"per-task projects of {sizes} (overlap {OVERLAP}, {CONTRIBUTORS} contributors); "
        f"seeding {'reused' if record['seeding']['reused'] else 'made'} in "
        f"{record['seeding']['seconds']:,} s, measuring took {record['measure_s']:,} s. Each "
        f"export runs in its own process and writes to /dev/null; the sizes of one kind and "
        f"format run back to back, again when another benchmark or pytest worked meanwhile, "
        f"other work took more than {BUSY_WARNING:.0%} of the machine, or the service's code "
        f"changed (try: which attempt was kept). Memory is the exporting "
        f"process's resident set (PostgreSQL's is not counted): before the export and its peak "
        f"during it (VmHWM reset just before; a sampler reading every 20 ms agrees). First "
        f"chunk: seconds until the stream yields its first bytes. Queries: SQL statements "
        f"(the server-side cursor's FETCHes not counted). CPU s: the exporting process's own "
        f"CPU time. CPU busy: the whole machine's CPU use in the 2 s before the export (others' "
        f"work, should be near 0; at most {max(busy, default=0):.0%} this run) and during it "
        f"(the export and PostgreSQL, on {os.cpu_count()} cores); others' CPU: the share of "
        f"the machine that went to neither this benchmark nor PostgreSQL during the export.",
        "",
        "| tasks | kind | format | rows | MB | s | rows/s | MB/s | first chunk s | queries "
        "| CPU s | RSS before MiB | RSS peak MiB | growth MiB | CPU busy before / during "
        "| others' CPU | try |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
        "| --- | --- | --- |",
    ]
    for run in record["runs"]:
        lines.append(
            f"| {run['tasks']:,} | {run['kind']} | {run['format']} | {run['rows']:,} "
            f"| {run['bytes'] / 1e6:,.0f} | {run['seconds']} | {run['rows_per_s']:,} "
            f"| {run['mb_per_s']} | {run['first_chunk_s']} | {run['queries']:,} "
            f"| {run['cpu_s']} | {run['rss_before_mib']} | {run['rss_peak_mib']} "
            f"| {run['rss_growth_mib']} | {run['cpu_busy_before']:.0%} / "
            f"{run['cpu_busy_during']:.0%} | {run['others_cpu_share']:.0%} | {run['attempt']}"
            + (" (disturbed)" if run["disturbed"] or run["code_changed_during"] else "")
            + " |"
        )
    lines += ["", "| goal | measured | |", "| --- | --- | --- |"]
    lines += [f"| {g['goal']} | {g['measured']} | {mark[g['met']]} |" for g in record["goals"]]
    table = "\n".join(lines)
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()
    start, end = "<!-- export:start -->", "<!-- export:end -->"
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    readme.write_text(f"{before}{start}\n{table}\n{end}{after}")
    print(table)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(part) for part in text.split(",")],
        default=list(SIZES),
        help="tasks per project, e.g. 100000,1000000",
    )
    parser.add_argument(
        "--exports",
        type=lambda text: [tuple(part.split(":", 1)) for part in text.split(",")],
        default=list(EXPORTS),
        help="kind:format pairs, e.g. raw:jsonl,raw:csv,results:jsonl,preferences:jsonl",
    )
    parser.add_argument(
        "--attempts", type=int, default=ATTEMPTS, help="tries when others disturb an export"
    )
    parser.add_argument("--reseed", action="store_true", help="drop the database and seed anew")
    parser.add_argument(
        "--child", nargs=3, metavar=("PROJECT", "KIND", "FORMAT"), help=argparse.SUPPRESS
    )
    options = parser.parse_args()
    for kind, fmt in options.exports if not options.child else ():
        if kind not in ("raw", "results", "preferences", "rewrites") or fmt not in ("jsonl", "csv"):
            parser.error(f"unknown export {kind}:{fmt}")
    return options


def main() -> None:
    options = arguments()
    if options.child:
        project_id, kind, fmt = options.child
        print("RESULT " + json.dumps(one_export(int(project_id), kind, fmt)))
        return

    import django

    started = time.monotonic()
    ensure_database(reseed=options.reseed)
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command("assessments_load", verbosity=0)
    projects, seeding = seed(sorted(options.sizes))
    measuring = time.monotonic()
    warmed = warm_cache()
    print(f"bench: tables read into the cache in {warmed:.0f} s", flush=True)
    connection.close()  # nothing of ours open in PostgreSQL while the children measure
    runs = measure(projects, options.exports, options.attempts)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    record = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "postgres": postgres,
        "seeding": seeding,
        "measure_s": round(time.monotonic() - measuring),
        "runs": runs,
        "goals": goals(runs),
    }
    write(record)
    print(f"bench: done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
