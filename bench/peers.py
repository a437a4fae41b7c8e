"""Side by side with the peers: the same workloads on this service and on Label Studio.

    python3 dev.py bench peers                     # 100,000 and 1,000,000 tasks, levels 1,8,32,64
    python3 dev.py bench peers --quick             # 2,000 tasks, levels 1,8: a few minutes
    python3 dev.py bench peers --sizes 100000 --levels 1,8,32 --rounds 3 --duration 10

Label Studio (pinned, in its own venv bench/.envs/label-studio, never a dependency of the
service; see bench/peers/labelstudio.py) runs on 127.0.0.1 three ways: its default server
(`label-studio start`, Django's threaded runserver) and gunicorn (4 sync workers, as ours) on
one PostgreSQL database of its own, and its default server on its SQLite default. This service
runs under gunicorn (the Procfile's 4 sync workers) on its own database, evalmarket_peers, made
anew and migrated at the start. Everything goes through each system's HTTP API:

- import: the same generated tasks (a prompt and two responses); ours reads the JSONL file
  (POST /api/v1/projects/<id>/imports/, run in the request: no broker, so the job runs in the
  web worker), Label Studio the same tasks as a JSON array (its import reads JSON, CSV, TSV
  and TXT, not JSONL) through POST /api/projects/<id>/import (its Community edition imports in
  the request). Time of the request, and the peak resident memory of the server process that
  did the work (VmHWM reset just before, and sampled every 20 ms);
- distribution: N simulated contributors (1, 8, 32, 64), one thread and one keep-alive
  connection each, looping "next task → submit an evaluation" for a fixed time on a project
  of the imported size, with overlap 1 and 3 (ours: bench/claims.py's ApiWorker and run_level;
  Label Studio: GET /api/projects/<id>/next/ as that annotator, then POST an annotation).
  Throughput, p50 and p99, and afterwards repeated (task, person) pairs and tasks past their
  overlap counted in each system's own database;
- export: a project of the same size whose every task has 3 evaluations (ours: seeded by
  bench/export.py's SQL; Label Studio: imported with its annotations through its import API),
  exported as JSON with all tasks and their evaluations (ours: GET .../export/?kind=raw, JSON
  lines; Label Studio: GET /api/projects/<id>/export?exportType=JSON&download_all_tasks=true),
  read to the end; time and peak memory of the server process.

Each comparison runs interleaved, ours then the peer's, --rounds times (3 by default), and the
table gives medians and the ratio ours ÷ peer. Aggregation against crowd-kit is bench/
aggregation.py: its latest results are included (run it too with --aggregation). At the end
every server is stopped and every database and file made here is dropped, even on error.
Results go to bench/results/peers.json and the table in bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEERS_URL = os.environ.get(
    "PEERS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/evalmarket_peers"
)
# The benchmarks imported below read their database from BENCH_DATABASE_URL when imported.
os.environ["BENCH_DATABASE_URL"] = PEERS_URL
sys.path[:0] = [str(BENCH), str(BENCH / "peers")]

import claims  # noqa: E402 - after BENCH_DATABASE_URL is set
import export as export_bench  # noqa: E402
import import_tasks  # noqa: E402
import labelstudio  # noqa: E402

os.environ["DATABASE_URL"] = PEERS_URL
SIZES = (100_000, 1_000_000)
LEVELS = (1, 8, 32, 64)
OVERLAPS = (1, 3)
ROUNDS = 3
DURATION = 10.0
WARMUP = 2.0
WORKERS = 4
QUICK = {"sizes": [2_000], "levels": [1, 8], "duration": 5.0, "warmup": 1.0}
CONTRIBUTORS = 64
STAFF_EMAIL = "peers-staff@bench.local"
SAMPLE_SECONDS = 0.02
FEWEST_PEER_CYCLES = 5  # fewer peer cycles in a row's window give no throughput ratio
GOAL_THROUGHPUT = 50  # ours ÷ peer at 32 contributors
GOAL_SPEED = 5  # import and export: the peer's time ÷ ours
FLAT = 1.25
EXPORT_LIMIT = 1800.0  # Label Studio exported 100,000 tasks in 835 s; a million is hours


# Memory of server processes ---------------------------------------------------------------------


def status_kib(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (gunicorn's master and workers)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending += parents.get(current, [])
    return found


class Memory:
    """Peak resident set of each process of a server while a request runs in it."""

    def __init__(self, pid: int) -> None:
        self.pids = process_tree(pid)
        self.before = {p: status_kib(p, "VmRSS") for p in self.pids}
        self.peak = dict(self.before)
        self.done = threading.Event()
        for p in self.pids:
            with contextlib.suppress(OSError):  # start VmHWM afresh; the sampler still sees it
                Path(f"/proc/{p}/clear_refs").write_text("5")
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        while not self.done.wait(SAMPLE_SECONDS):
            for p in self.pids:
                self.peak[p] = max(self.peak[p], status_kib(p, "VmRSS"))

    def stop(self) -> dict[str, float]:
        """The process whose memory grew most did the work: its RSS before and at peak."""
        self.done.set()
        self.thread.join()
        for p in self.pids:
            self.peak[p] = max(self.peak[p], status_kib(p, "VmHWM"), status_kib(p, "VmRSS"))
        worker = max(self.pids, key=lambda p: (self.peak[p] - self.before[p], self.peak[p]))
        return {
            "rss_before_mib": round(self.before[worker] / 1024, 1),
            "rss_peak_mib": round(self.peak[worker] / 1024, 1),
            "rss_growth_mib": round((self.peak[worker] - self.before[worker]) / 1024, 1),
        }


# Our side ---------------------------------------------------------------------------------------


def our_database() -> None:
    """evalmarket_peers, made anew for each run."""
    import psycopg

    name = PEERS_URL.rsplit("/", 1)[1]
    assert name.startswith("evalmarket_peers"), name
    admin_url = PEERS_URL.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_our_database() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    name = PEERS_URL.rsplit("/", 1)[1]
    admin_url = PEERS_URL.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def our_seed() -> tuple[str, list[tuple[int, str]]]:
    """The staff's token and CONTRIBUTORS active contributors (id, token), as claims' seed."""
    from rest_framework.authtoken.models import Token

    from contributors.models import ContributorProfile, Qualification, User
    from contributors.services import user_create

    staff = User.objects.filter(email=STAFF_EMAIL).first() or user_create(
        email=STAFF_EMAIL,
        password=None,
        full_name="Peers bench staff",
        roles=("staff",),
        is_staff=True,
        email_verified=True,
    )
    people = []
    for n in range(CONTRIBUTORS):
        user = user_create(
            email=claims.claimer(n), password=None, full_name=f"Claimer {n}", email_verified=True
        )
        ContributorProfile.objects.filter(user=user).update(
            status="active", application_submitted_at=user.date_joined
        )
        Qualification.objects.create(user=user, code="general", source="bench")
        people.append((user.pk, Token.objects.get_or_create(user=user)[0].key))
    return Token.objects.get_or_create(user=staff)[0].key, people


def our_project(title: str, overlap: int, people: list[tuple[int, str]]) -> int:
    """A per-task project with the helpers' form (as claims' seed), everyone a member."""
    from contributors.models import User
    from evaluations.services import form_set, settings_set
    from marketplace.services import membership_join, project_create, project_transition
    from tests.evaluations.helpers import FORM

    staff = User.objects.get(email=STAFF_EMAIL)
    project = project_create(
        actor=staff,
        data={
            "title": title,
            "description": "Compare two answers; side by side with the peers.",
            "tier": "general",
            "pay_model": "per_task",
            "pay_rate": Decimal("30.00"),
            "task_minutes": 5,
            "capacity": 1000,
        },
        requires_all=["general"],
    )
    project_transition(project_id=project.pk, actor=staff, to_status="active")
    settings_set(project_id=project.pk, actor=staff, overlap=overlap)
    form_set(project_id=project.pk, actor=staff, schema=FORM)
    for user in User.objects.filter(pk__in=[pk for pk, _ in people]):
        membership_join(project_id=project.pk, user=user)
    return project.pk


def our_import(port: int, token: str, project_id: int, path: Path) -> dict[str, Any]:
    """POST the JSONL file to our import API; the job runs in the request (no broker)."""
    chunks, length, content_type = labelstudio.multipart(path, "file", {"format": "jsonl"})
    connection = HTTPConnection("127.0.0.1", port, timeout=3600)
    headers = {
        "Authorization": f"Token {token}",
        "Content-Type": content_type,
        "Content-Length": str(length),
    }
    try:
        connection.request(
            "POST", f"/api/v1/projects/{project_id}/imports/", body=chunks, headers=headers
        )
        response = connection.getresponse()
        data = response.read()
        if response.status != 202:
            raise RuntimeError(f"our import: HTTP {response.status}: {data[:500]!r}")
        job = json.loads(data)
        connection.request(
            "GET", f"/api/v1/imports/{job['id']}/", headers={"Authorization": f"Token {token}"}
        )
        response = connection.getresponse()
        return json.loads(response.read())
    finally:
        connection.close()


def our_export(port: int, token: str, project_id: int) -> int:
    connection = HTTPConnection("127.0.0.1", port, timeout=3600)
    size = 0
    try:
        connection.request(
            "GET",
            f"/api/v1/projects/{project_id}/export/?kind=raw&format=jsonl",
            headers={"Authorization": f"Token {token}"},
        )
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"our export: HTTP {response.status}: {response.read()[:300]!r}")
        while block := response.read(1 << 20):
            size += len(block)
    finally:
        connection.close()
    return size


def our_task_count(project_id: int) -> int:
    from evaluations.models import Task

    return Task.objects.filter(project_id=project_id).count()


# Files ------------------------------------------------------------------------------------------


def peer_file(jsonl: Path) -> Path:
    """The same tasks as Label Studio reads them: a JSON array (data keys for its config),
    written a line at a time."""
    import orjson

    plain = jsonl.with_suffix(".ls.json")
    with jsonl.open("rb") as source, plain.open("wb") as target:
        target.write(b"[\n")
        for n, line in enumerate(source):
            task = orjson.loads(line)
            a, b = task["responses"]
            data = {
                "external_id": task["external_id"],
                "prompt": task["prompt"],
                "response_a": a["text"],
                "response_b": b["text"],
                "model_a": a["model"],
                "model_b": b["model"],
                "metadata": task.get("metadata", {}),
            }
            target.write((b",\n" if n else b"") + orjson.dumps(data))
        target.write(b"\n]\n")
    return plain


# Measuring --------------------------------------------------------------------------------------


def timed(pid: int, action: Callable[[], Any]) -> dict[str, Any]:
    busy = claims.cpu_busy(0.5)
    memory = Memory(pid)
    started = time.perf_counter()
    outcome = action()
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        **memory.stop(),
        "cpu_busy_before": round(busy, 2),
        "outcome": outcome,
    }


PARTIAL = BENCH / "results" / "peers.json.tmp"  # ignored by git; the run so far


def save_partial(record: dict[str, Any]) -> None:
    """The figures so far, so that a run cut short can still be written (--rewrite --partial)."""
    PARTIAL.write_text(json.dumps(record, indent=2, default=str) + "\n")


def median(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return round(statistics.median(present), 2) if present else None


def ratio(ours: float | None, peer: float | None) -> float | None:
    if ours is None or not peer:
        return None
    return round(ours / peer, 4)


def fmt(value: float | None) -> str:
    """A ratio to three significant figures; a dash when it could not be taken."""
    return "–" if value is None else f"{value:.3g}"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def machine() -> str:
    return claims.machine()


def postgres_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def code_version() -> str:
    """The commit measured, and whether the work tree had changes (read only: no index write)."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    ).stdout.strip()
    changed = subprocess.run(
        ["git", "diff", "--quiet", "HEAD", "--"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        env=env,
        capture_output=True,
    ).returncode
    return f"{head} with uncommitted changes" if changed else head


def load_average() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def run(options: argparse.Namespace) -> dict[str, Any]:
    import django

    version = labelstudio.ensure_env()
    started_at = datetime.now(UTC)
    our_database()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("assessments_load", verbosity=0)
    staff_token, people = our_seed()
    print(f"peers: our database seeded ({len(people)} contributors)", flush=True)

    record: dict[str, Any] = {
        "date": started_at.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "postgres": postgres_version(),
        "label_studio": version,
        "code": code_version(),
        "load_average_before": load_average(),
        "settings": {
            "sizes": options.sizes,
            "levels": options.levels,
            "overlaps": options.overlaps,
            "rounds": options.rounds,
            "export_rounds": options.export_rounds,
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "gunicorn_workers": options.workers,
            "sqlite": options.sqlite,
            "export_limit_s": options.export_limit,
        },
        "imports": [],
        "distribution": [],
        "exports": [],
        "checks": [],
    }
    os.environ["GUNICORN_CMD_ARGS"] = "--timeout 3600"  # a 1,000,000-line import takes a while
    server, log = None, None
    peers: list[labelstudio.LabelStudio] = []
    try:
        server, port, log = claims.start_gunicorn(options.workers)
        print(f"peers: ours under gunicorn ({options.workers} workers) on port {port}", flush=True)
        ls = labelstudio.LabelStudio(name="pg", database="postgresql")
        peers.append(ls)
        ls.init()
        ls.make_annotators(CONTRIBUTORS)
        ls_default = ls.start("default")
        ls_gunicorn = ls.start("gunicorn", options.workers)
        print(
            f"peers: Label Studio {version} on PostgreSQL: default server on port "
            f"{ls_default.port}, gunicorn ({options.workers} workers) on port {ls_gunicorn.port}",
            flush=True,
        )
        lite = None
        if options.sqlite:
            lite = labelstudio.LabelStudio(name="sqlite", database="sqlite")
            peers.append(lite)
            lite.init()
            lite.make_annotators(CONTRIBUTORS)
            lite_default = lite.start("default")
            print(f"peers: Label Studio on SQLite on port {lite_default.port}", flush=True)

        for size in options.sizes:
            jsonl, _seconds = import_tasks.write_file(size)
            plain = peer_file(jsonl)
            files = {
                "jsonl_mib": round(jsonl.stat().st_size / 2**20, 1),
                "json_mib": round(plain.stat().st_size / 2**20, 1),
            }
            print(f"peers: {size:,} tasks written ({files})", flush=True)
            try:
                projects = measure_size(
                    size=size,
                    files=(jsonl, plain),
                    options=options,
                    record=record,
                    ours=(server.pid, port, staff_token, people),
                    ls=ls,
                    ls_servers=(ls_default, ls_gunicorn),
                    lite=lite,
                )
                record.setdefault("files", {})[str(size)] = files | {"projects": projects}
            finally:
                for path in (jsonl, plain):
                    path.unlink(missing_ok=True)
    finally:
        if server is not None and log is not None:
            claims.stop_gunicorn(server, log)
        for peer in peers:
            peer.close()
        drop_our_database()
    record["load_average_after"] = load_average()
    record["seconds"] = round((datetime.now(UTC) - started_at).total_seconds())
    return record


def measure_size(
    *,
    size: int,
    files: tuple[Path, Path],
    options: argparse.Namespace,
    record: dict[str, Any],
    ours: tuple[int, int, str, list[tuple[int, str]]],
    ls: labelstudio.LabelStudio,
    ls_servers: tuple[labelstudio.Server, labelstudio.Server],
    lite: labelstudio.LabelStudio | None,
) -> dict[str, Any]:
    jsonl, plain = files
    our_pid, port, staff_token, people = ours
    ls_default, ls_gunicorn = ls_servers
    work: dict[str, Any] = {"ours": {}, "label-studio": {}, "label-studio sqlite": {}}

    # Import: ours, then Label Studio's, each round into new projects; overlaps in turn.
    for round_number in range(max(options.rounds, len(options.overlaps))):
        overlap = options.overlaps[round_number % len(options.overlaps)]
        title = f"Peers {size} overlap {overlap} round {round_number + 1}"
        project = our_project(title, overlap, people)
        result = timed(
            our_pid, lambda project=project: our_import(port, staff_token, project, jsonl)
        )
        job = result.pop("outcome")
        assert job["status"] == "succeeded", job
        assert job["imported"] == size, job
        record["imports"].append(
            {"system": "ours", "tasks": size, "round": round_number + 1, **result}
        )
        work["ours"].setdefault(overlap, project)
        print(f"peers: import {size:,} ours round {round_number + 1}: {result}", flush=True)
        save_partial(record)

        peer_project = ls.project_create(title=title, overlap=overlap)
        result = timed(
            ls_default.process.pid,
            lambda peer_project=peer_project: ls.import_file(peer_project, plain),
        )
        found = result.pop("outcome")
        assert found["task_count"] == size, found
        record["imports"].append(
            {"system": "label-studio", "tasks": size, "round": round_number + 1, **result}
        )
        work["label-studio"].setdefault(overlap, peer_project)
        print(f"peers: import {size:,} Label Studio round {round_number + 1}: {result}", flush=True)
        save_partial(record)
    if lite is not None:
        for overlap in options.overlaps:
            peer_project = lite.project_create(
                title=f"Peers {size} overlap {overlap}", overlap=overlap
            )
            result = timed(
                lite.servers[0].process.pid,
                lambda peer_project=peer_project: lite.import_file(peer_project, plain),
            )
            result.pop("outcome")
            record["imports"].append(
                {"system": "label-studio sqlite", "tasks": size, "round": 1, **result}
            )
            work["label-studio sqlite"][overlap] = peer_project

    # Distribution: per overlap and level, rounds of ours, then each way of serving the peer.
    systems: list[tuple[str, Callable[[int, int], Any]]] = [
        (
            "ours",
            lambda index, project: claims.ApiWorker(
                port=port, project_id=project, token=people[index % len(people)][1]
            ),
        ),
        (
            "ours floor",
            lambda index, project: claims.FloorWorker(
                port=port, project_id=project, token=people[index % len(people)][1]
            ),
        ),
        (
            "label-studio",
            lambda index, project: labelstudio.Worker(
                port=ls_default.port,
                project_id=project,
                token=ls.annotators[index % len(ls.annotators)][2],
            ),
        ),
        (
            "label-studio gunicorn",
            lambda index, project: labelstudio.Worker(
                port=ls_gunicorn.port,
                project_id=project,
                token=ls.annotators[index % len(ls.annotators)][2],
            ),
        ),
    ]
    if lite is not None:
        systems.append(
            (
                "label-studio sqlite",
                lambda index, project: labelstudio.Worker(
                    port=lite.servers[0].port,
                    project_id=project,
                    token=lite.annotators[index % len(lite.annotators)][2],
                ),
            )
        )
    first = dict.fromkeys((name for name, _ in systems), 0)
    for overlap in options.overlaps:
        for level in options.levels:
            for round_number in range(options.rounds):
                for name, make in systems:
                    if name == "ours floor" and overlap != options.overlaps[0]:
                        continue  # the floor does no work: the overlap does not change it
                    key = {"label-studio gunicorn": "label-studio", "ours floor": "ours"}.get(
                        name, name
                    )
                    project = work[key][overlap]
                    start = first[name]
                    busy = claims.cpu_busy(0.5)
                    result = claims.run_level(
                        name,
                        level,
                        lambda i, make=make, project=project, start=start: make(start + i, project),
                        warmup=options.warmup,
                        duration=options.duration,
                    )
                    first[name] = (start + level) % CONTRIBUTORS
                    result.pop("mode")
                    result["cpu_busy_before"] = round(busy, 2)
                    record["distribution"].append(
                        {
                            "system": name,
                            "tasks": size,
                            "overlap": overlap,
                            "round": round_number + 1,
                            **result,
                        }
                    )
                    print(
                        f"peers: {size:,} overlap {overlap} x{level} round {round_number + 1} "
                        f"{name}: {result['cycles_per_s']}/s next p50 {result['next_p50_ms']} "
                        f"p99 {result['next_p99_ms']} cycle p99 {result['cycle_p99_ms']} ms, "
                        f"errors {result['errors']}",
                        flush=True,
                    )
                    save_partial(record)
                    if result.get("first_error"):
                        print(f"peers: first error: {result['first_error'][-800:]}", flush=True)
        mine = work["ours"][overlap]
        found = {"ours": claims.checks(mine) | {"submissions": claims.counts(mine)["submissions"]}}
        found["label-studio"] = ls.checks(work["label-studio"][overlap])
        if lite is not None:
            found["label-studio sqlite"] = lite.checks(work["label-studio sqlite"][overlap])
        for name, values in found.items():
            record["checks"].append({"system": name, "tasks": size, "overlap": overlap, **values})
        print(f"peers: checks {size:,} overlap {overlap}: {found}", flush=True)
        save_partial(record)

    # Export: a project of `size` tasks with 3 evaluations each, on both sides.
    project = our_project(f"Peers {size} export", 3, people)
    job = our_import(port, staff_token, project, jsonl)
    assert job["imported"] == size, job
    from marketplace.models import Project

    export_bench.fill(Project.objects.get(pk=project), [pk for pk, _ in people])
    claims.vacuum()
    peer_project = ls.project_create(title=f"Peers {size} export", overlap=3)
    found = ls.import_file(peer_project, plain)
    assert found["task_count"] == size, found
    made = ls.fill(peer_project, [pk for pk, _email, _token in ls.annotators])
    assert made == 3 * size, made
    print(f"peers: export projects of {size:,} tasks filled, 3 evaluations a task", flush=True)
    work["ours"]["export"], work["label-studio"]["export"] = project, peer_project
    for round_number in range(options.export_rounds):
        result = timed(our_pid, lambda project=project: our_export(port, staff_token, project))
        result["bytes"] = result.pop("outcome")
        record["exports"].append(
            {"system": "ours", "tasks": size, "round": round_number + 1, **result}
        )
        print(f"peers: export {size:,} ours round {round_number + 1}: {result}", flush=True)
        save_partial(record)
        result = timed(
            ls_default.process.pid,
            lambda peer_project=peer_project: ls.export(peer_project, options.export_limit or None),
        )
        outcome = result.pop("outcome")
        result["bytes"] = outcome and outcome[0]
        if outcome is None:  # not ended within the limit: its time is only known to be longer
            result["stopped"] = True
        record["exports"].append(
            {"system": "label-studio", "tasks": size, "round": round_number + 1, **result}
        )
        print(f"peers: export {size:,} Label Studio round {round_number + 1}: {result}", flush=True)
        save_partial(record)
        if outcome is None:
            ls.restart(ls_default)  # it would go on building the export it was asked for
            print(
                f"peers: Label Studio's export stopped after {options.export_limit:g} s; its "
                "server restarted; no more export rounds of this size",
                flush=True,
            )
            break
    return {name: {str(key): value for key, value in found.items()} for name, found in work.items()}


# Summary ----------------------------------------------------------------------------------------


def summarise(record: dict[str, Any]) -> dict[str, Any]:
    """Medians per system and setting, and the ratios ours ÷ peer."""
    summary: dict[str, Any] = {"imports": [], "distribution": [], "exports": []}
    for kind in ("imports", "exports"):
        for size in record["settings"]["sizes"]:
            rows = [row for row in record[kind] if row["tasks"] == size]
            by = {}
            for system in ("ours", "label-studio", "label-studio sqlite"):
                mine = [row for row in rows if row["system"] == system]
                if mine:
                    by[system] = {
                        "runs": len(mine),
                        "seconds": median([row["seconds"] for row in mine]),
                        "rss_peak_mib": median([row["rss_peak_mib"] for row in mine]),
                        "rss_growth_mib": median([row["rss_growth_mib"] for row in mine]),
                        # not ended within --export-limit: the time and peak are lower bounds
                        "stopped": any(row.get("stopped") for row in mine),
                    }
            if "ours" in by and "label-studio" in by:
                summary[kind].append(
                    {
                        "tasks": size,
                        **by,
                        "ratio_seconds": ratio(
                            by["ours"]["seconds"], by["label-studio"]["seconds"]
                        ),
                        "ratio_rss_peak": ratio(
                            by["ours"]["rss_peak_mib"], by["label-studio"]["rss_peak_mib"]
                        ),
                    }
                )
    keys = sorted(
        {(row["tasks"], row["overlap"], row["contributors"]) for row in record["distribution"]}
    )
    for size, overlap, level in keys:
        rows = [
            row
            for row in record["distribution"]
            if (row["tasks"], row["overlap"], row["contributors"]) == (size, overlap, level)
        ]
        entry: dict[str, Any] = {"tasks": size, "overlap": overlap, "contributors": level}
        for system in sorted({row["system"] for row in rows}):
            mine = [row for row in rows if row["system"] == system]
            entry[system] = {
                "runs": len(mine),
                "cycles_per_s": median([row["cycles_per_s"] for row in mine]),
                "next_p50_ms": median([row["next_p50_ms"] for row in mine]),
                "next_p99_ms": median([row["next_p99_ms"] for row in mine]),
                "cycle_p50_ms": median([row["cycle_p50_ms"] for row in mine]),
                "cycle_p99_ms": median([row["cycle_p99_ms"] for row in mine]),
                "errors": sum(row["errors"] for row in mine),
                "cpu_ms_per_cycle": median([row["cpu_ms_per_cycle"] for row in mine]),
                "cpu_busy_before": median([row["cpu_busy_before"] for row in mine]),
            }
        for peer in ("label-studio", "label-studio gunicorn", "label-studio sqlite"):
            if peer in entry:
                entry[f"ratio_throughput_{peer}"] = ratio(
                    entry["ours"]["cycles_per_s"], entry[peer]["cycles_per_s"]
                )
                entry[f"ratio_cycle_p99_{peer}"] = ratio(
                    entry["ours"]["cycle_p99_ms"], entry[peer]["cycle_p99_ms"]
                )
        summary["distribution"].append(entry)
    return summary


def goals(record: dict[str, Any]) -> list[dict[str, Any]]:
    summary = record["summary"]
    found = []
    for entry in summary["distribution"]:
        if entry["contributors"] != 32:
            continue
        for peer in ("label-studio", "label-studio gunicorn"):
            value = entry.get(f"ratio_throughput_{peer}")
            goal = (
                f"distribution at 32, overlap {entry['overlap']}, {entry['tasks']:,} tasks: "
                f"at least {GOAL_THROUGHPUT}× {peer}'s throughput"
            )
            if peer not in entry:
                found.append({"goal": goal, "measured": "not run", "met": None})
                continue
            done = entry[peer]["cycles_per_s"] * record["settings"]["duration_s"]
            if done < FEWEST_PEER_CYCLES:
                # One cycle more or less would change the ratio by half or more: no verdict.
                found.append(
                    {
                        "goal": goal,
                        "measured": f"the peer ended {done:.0f} cycles in the measured window "
                        f"(median of the rounds), too few for a ratio",
                        "met": None,
                        "verdict": "no ratio",
                    }
                )
                continue
            found.append(
                {
                    "goal": goal,
                    "measured": f"{entry['ours']['cycles_per_s']} / "
                    f"{entry[peer]['cycles_per_s']} cycles/s = {fmt(value)}×",
                    "met": None if value is None else value >= GOAL_THROUGHPUT,
                }
            )
    if not any(entry["contributors"] == 32 for entry in summary["distribution"]):
        found.append(
            {
                "goal": f"distribution at 32: at least {GOAL_THROUGHPUT}× the peer's throughput",
                "measured": "32 not among the levels",
                "met": None,
            }
        )
    for row in record["checks"]:
        if row["system"] == "ours":
            bad = row["repeated (task, contributor) pairs"]
            over = (
                row["tasks filled past overlap"] + row["tasks with more submissions than overlap"]
            )
        else:
            bad = row["repeated (task, annotator) pairs"]
            over = row["tasks past maximum annotations"]
        found.append(
            {
                "goal": f"zero duplicates and zero over-overlap: {row['system']}, "
                f"{row['tasks']:,} tasks, overlap {row['overlap']}",
                "measured": f"{bad} duplicates, {over} over overlap",
                "met": bad == 0 and over == 0,
                "ours": row["system"] == "ours",
            }
        )
    for kind, label in (("imports", "import"), ("exports", "export")):
        for entry in summary[kind]:
            value = entry["ratio_seconds"]
            peer = entry["label-studio"]
            if value and peer.get("stopped"):
                # Its time is only known to be longer than the limit: a bound on the ratio.
                found.append(
                    {
                        "goal": f"{label} of {entry['tasks']:,} tasks at least {GOAL_SPEED}× "
                        "faster",
                        "measured": f"{entry['ours']['seconds']} s / more than {peer['seconds']} "
                        f"s = less than {fmt(value)} (Label Studio's time is more than "
                        f"{1 / value:.3g}× ours; its export was stopped after "
                        f"{peer['seconds']:g} s)",
                        "met": True if value <= 1 / GOAL_SPEED else None,
                        **({} if value <= 1 / GOAL_SPEED else {"verdict": "no verdict"}),
                    }
                )
                continue
            found.append(
                {
                    "goal": f"{label} of {entry['tasks']:,} tasks at least {GOAL_SPEED}× faster",
                    "measured": f"{entry['ours']['seconds']} / {entry['label-studio']['seconds']} "
                    f"s = {fmt(value)} (Label Studio's time is {1 / value:.3g}× ours)"
                    if value
                    else "not run",
                    "met": None if not value else value <= 1 / GOAL_SPEED,
                }
            )
        if len(summary[kind]) >= 2:
            small, large = summary[kind][0], summary[kind][-1]
            value = large["ours"]["rss_peak_mib"] / small["ours"]["rss_peak_mib"]
            found.append(
                {
                    "goal": f"{label}: flat memory (ours at {large['tasks']:,} at most "
                    f"{(FLAT - 1) * 100:.0f}% above ours at {small['tasks']:,})",
                    "measured": f"{large['ours']['rss_peak_mib']} / "
                    f"{small['ours']['rss_peak_mib']} MiB = {value:.2f}",
                    "met": value <= FLAT,
                }
            )
    return found


def losses(record: dict[str, Any]) -> list[str]:
    """A line for each figure where the peer does better: why, and what would fix it."""
    found = []
    summary = record["summary"]
    for kind, label in (("imports", "import"), ("exports", "export")):
        for entry in summary[kind]:
            if entry["ratio_seconds"] and entry["ratio_seconds"] > 1:
                found.append(
                    f"{label} of {entry['tasks']:,} tasks: ours takes "
                    f"{fmt(entry['ratio_seconds'])}× Label Studio's time."
                )
            if entry["ratio_rss_peak"] and entry["ratio_rss_peak"] > 1:
                found.append(
                    f"{label} of {entry['tasks']:,} tasks: our worker peaks at "
                    f"{fmt(entry['ratio_rss_peak'])}× Label Studio's memory."
                )
            ours, peer = entry["ours"]["rss_growth_mib"], entry["label-studio"]["rss_growth_mib"]
            if ours and peer and ours > 1.1 * peer and ours - peer > 5:
                found.append(
                    f"{label} of {entry['tasks']:,} tasks: our worker's memory grows by {ours} "
                    f"MiB, Label Studio's by {peer} MiB (its peak is higher: it starts higher)."
                )
    for entry in summary["distribution"]:
        for peer in ("label-studio", "label-studio gunicorn", "label-studio sqlite"):
            value = entry.get(f"ratio_throughput_{peer}")
            if value is not None and value < 1:
                found.append(
                    f"distribution at {entry['contributors']}, overlap {entry['overlap']}, "
                    f"{entry['tasks']:,} tasks: {fmt(value)}× {peer}'s throughput."
                )
            value = entry.get(f"ratio_cycle_p99_{peer}")
            if value is not None and value > 1:
                found.append(
                    f"distribution at {entry['contributors']}, overlap {entry['overlap']}, "
                    f"{entry['tasks']:,} tasks: cycle p99 {fmt(value)}× {peer}'s."
                )
    return found


def aggregation_summary() -> dict[str, Any] | None:
    path = BENCH / "results" / "aggregation.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    rows = []
    for row in data["rows"]:
        rows.append(
            {
                "data_set": row.get("name") or row.get("data_set"),
                "method": row.get("method"),
                "ratio_fit_ms": row.get("ratio_fit_ms"),
                "ratio_peak_mib": row.get("ratio_peak_mib"),
                "ratio_accuracy": row.get("ratio_accuracy"),
            }
        )
    return {
        "date": data["date"],
        "crowd_kit": data["crowd_kit_env"].get("crowd-kit"),
        "rows": rows,
    }


# Writing ----------------------------------------------------------------------------------------

WHY = {
    ("import", "time"): "tasks_import alone reads, checks and COPYs 28,000-30,000 lines/s "
    "(bench/import_tasks.py); through the API the upload is first stored to media and the job "
    "made, a fixed cost that weighs most on small files. Importing small uploads straight from "
    "the request's temporary file, without the stored copy, would fix it.",
    ("import", "memory"): "Ours streams the file and COPYs in batches of 5,000 checked lines "
    "(evaluations.services.imports.BATCH), so its growth is a batch's, whatever the size; a "
    "smaller batch would lower it, at some cost in speed.",
    ("export", "time"): "Ours is bound by the worker's own CPU: each chunk of 1,000 tasks is "
    "read as plain values (tasks, their accepted submissions with the form version, code runs: "
    "three queries) and each row is a dict serialised by orjson; decoding the JSON columns "
    "(responses, answers) in psycopg and Django is most of what is left (bench/export.py: "
    "about 21 CPU s of 24 s for 100,000 tasks). Letting PostgreSQL build each row's JSON text "
    "would cut that, at the price of a second serialiser to keep byte-identical.",
    ("export", "memory"): "Ours keeps one chunk of 1,000 tasks with their submissions as plain "
    "values (evaluations.services.export.CHUNK); the growth is per chunk, not per project, so "
    "it stays flat with size; a smaller chunk would lower it.",
    ("distribution", "time"): "",
}


def why(loss: str) -> str:
    kind = loss.split(" ", 1)[0]
    aspect = "memory" if "memory" in loss else "time"
    return WHY.get((kind, aspect), "")


def shortfalls(record: dict[str, Any]) -> list[str]:
    """For each goal of ours not met: why, from the measured figures, and what would fix it."""
    found = []
    summary = record["summary"]
    for entry in summary["distribution"]:
        if entry["contributors"] != 32 or "label-studio" not in entry:
            continue
        ours, peer = entry["ours"], entry["label-studio"]
        value = entry.get("ratio_throughput_label-studio")
        if value is None or value >= GOAL_THROUGHPUT:
            continue
        cpu_ours, cpu_peer = ours.get("cpu_ms_per_cycle"), peer.get("cpu_ms_per_cycle")
        floor = next(
            (
                other["ours floor"]
                for other in summary["distribution"]
                if "ours floor" in other
                and (other["tasks"], other["contributors"]) == (entry["tasks"], 32)
            ),
            None,
        )
        line = (
            f"Distribution at 32, overlap {entry['overlap']}: {fmt(value)}× Label Studio's "
            f"throughput, not {GOAL_THROUGHPUT}×. Both saturate the 2 cores, so throughput is "
            f"set by CPU per cycle: the whole machine spent {cpu_ours} ms per next + submit of "
            f"ours and {cpu_peer} ms per cycle of Label Studio's (client, server, PostgreSQL and "
            f"others' work together); {GOAL_THROUGHPUT}× would need about "
            f"{fmt(cpu_peer / GOAL_THROUGHPUT) if cpu_peer else '–'} ms per cycle of ours."
        )
        if floor and floor["cycles_per_s"] and peer["cycles_per_s"]:
            line += (
                " Our floor, two authenticated reads of one row through the same gunicorn, "
                "Django and DRF with none of the work, costs "
                f"{floor['cpu_ms_per_cycle']} ms per cycle and runs at {floor['cycles_per_s']} "
                f"cycles/s: {fmt(floor['cycles_per_s'] / peer['cycles_per_s'])}× Label Studio's "
                "throughput with no work done. So on this machine no next + submit through "
                "this stack (two HTTP requests, a Django process, PostgreSQL) reaches "
                f"{GOAL_THROUGHPUT}×; the work's own share is the rest of the "
                f"{cpu_ours} ms (seat and claim, answer and quality checks, the submission, the "
                "rationale index and the pay entry: 3 statements for next, about 13 for submit). "
                "What would close it: fewer requests per task (a next that hands out a few "
                "tasks at once, a submit that also takes the next), or a server stack with a "
                "fraction of Django's cost per request."
            )
        found.append(line)
    for kind, label in (("imports", "Import"), ("exports", "Export")):
        for entry in summary[kind]:
            value = entry["ratio_seconds"]
            if not value or value <= 1 / GOAL_SPEED or entry["label-studio"].get("stopped"):
                continue  # met, or the peer's time is only a lower bound: no verdict
            rate = entry["tasks"] / entry["ours"]["seconds"] if entry["ours"]["seconds"] else 0
            found.append(
                f"{label} of {entry['tasks']:,} tasks: Label Studio's time is "
                f"{1 / value:.3g}× ours, not {GOAL_SPEED}× (ours {rate:,.0f} tasks/s). "
                f"{why(f'{label.lower()} time')}"
            )
    return found


def write(record: dict[str, Any]) -> None:
    (BENCH / "results" / "peers.json").write_text(json.dumps(record, indent=2) + "\n")
    mark = {True: "met", False: "**not met**", None: "not run"}
    settings = record["settings"]
    sizes = ", ".join(f"{size:,}" for size in settings["sizes"])
    lines = [
        f"Measured {record['date']} on {record['machine']}, PostgreSQL {record['postgres']}; "
        f"Label Studio {record['label_studio']} (its own venv)"
        + (f"; ours at {record['code']}" if record.get("code") else "")
        + f". Sizes: {sizes} tasks; "
        f"{settings['rounds']} interleaved round{'s' if settings['rounds'] != 1 else ''} "
        "(ours, then the peer), medians"
        + (
            f" ({settings['export_rounds']} of the exports)"
            if settings.get("export_rounds", settings["rounds"]) != settings["rounds"]
            else ""
        )
        + "; "
        f"distribution {settings['duration_s']:g} s measured per row after "
        f"{settings['warmup_s']:g} s of warm-up, overlaps "
        f"{', '.join(map(str, settings['overlaps']))}, contributors "
        f"{', '.join(map(str, settings['levels']))}; ours under gunicorn with "
        f"{settings['gunicorn_workers']} sync workers; Label Studio's default server "
        f"(`label-studio start`: Django's runserver) and gunicorn with "
        f"{settings['gunicorn_workers']} workers on one PostgreSQL database"
        + (", and its default server on SQLite" if settings["sqlite"] else "")
        + f". Client, servers and PostgreSQL share the machine (load average "
        f"{record['load_average_before']} before, {record['load_average_after']} after, other "
        f"workers' benchmarks included). Ratios are ours ÷ peer: below 1 is better for times and "
        f"memory, above 1 for throughput. Took {record['seconds']:,} s.",
        "",
    ]
    lines[0] += coverage(record)
    for run in record.get("earlier", []):
        lines[0] += (
            f" The figures of {', '.join(f'{size:,}' for size in run['sizes'])} tasks are those "
            f"of an earlier run of this command, {run['date']}"
            + (f", ours at {run['code']}" if run.get("code") else "")
            + f", {run['rounds']} rounds ({run['export_rounds']} of the exports)"
            + (f", which took {run['seconds']:,} s" if run.get("seconds") else "")
            + "."
        )
    summary = record["summary"]
    for kind, label in (("imports", "Import"), ("exports", "Export")):
        if not summary[kind]:
            continue
        lines += [
            f"| {label} | tasks | ours s | Label Studio s | ratio | ours peak MiB (growth) "
            "| Label Studio peak MiB (growth) | ratio |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for entry in summary[kind]:
            ours, peer = entry["ours"], entry["label-studio"]
            # A peer stopped at the limit: its time and memory so far are lower bounds.
            more, less = ("> ", "< ") if peer.get("stopped") else ("", "")
            lines.append(
                f"| {label.lower()} | {entry['tasks']:,} | {ours['seconds']} "
                f"| {more}{peer['seconds']}{' (stopped)' if more else ''} "
                f"| {less}{fmt(entry['ratio_seconds'])} | {ours['rss_peak_mib']} "
                f"({ours['rss_growth_mib']}) | {more}{peer['rss_peak_mib']} "
                f"({more}{peer['rss_growth_mib']}) | {less}{fmt(entry['ratio_rss_peak'])} |"
            )
        stopped = [entry for entry in summary[kind] if entry["label-studio"].get("stopped")]
        if stopped:
            lines.append("")
            lines.append(
                "(stopped) means Label Studio's export had not ended after the limit "
                f"(`--export-limit`, {settings.get('export_limit_s', EXPORT_LIMIT):g} s), so the "
                "harness stopped waiting and restarted its server; its time and its memory so far "
                "are lower bounds, and the ratios upper bounds ("
                + ", ".join(f"{entry['tasks']:,} tasks" for entry in stopped)
                + ")."
            )
        lite = [entry for entry in summary[kind] if "label-studio sqlite" in entry]
        for entry in lite:
            value = entry["label-studio sqlite"]
            lines.append(
                f"| {label.lower()}, Label Studio on SQLite (one run) | {entry['tasks']:,} | | "
                f"{value['seconds']} | | | {value['rss_peak_mib']} ({value['rss_growth_mib']}) | |"
            )
        lines.append("")
    if summary["distribution"]:
        lines += [
            "| Distribution | tasks | overlap | contributors | system | cycles/s | next p50 ms "
            "| next p99 ms | cycle p50 ms | cycle p99 ms | errors | machine CPU ms per cycle "
            "| machine busy before | throughput ours ÷ it | cycle p99 ours ÷ it |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
            "| --- |",
        ]
        for entry in summary["distribution"]:
            for system in (
                "ours",
                "ours floor",
                "label-studio",
                "label-studio gunicorn",
                "label-studio sqlite",
            ):
                if system not in entry:
                    continue
                value = entry[system]
                throughput = p99 = ""
                if not system.startswith("ours"):
                    throughput = fmt(entry.get(f"ratio_throughput_{system}"))
                    p99 = fmt(entry.get(f"ratio_cycle_p99_{system}"))
                names = {
                    "ours": "ours (gunicorn)",
                    "ours floor": "ours, the floor: two authenticated reads, no work",
                    "label-studio": "Label Studio, default server",
                    "label-studio gunicorn": "Label Studio, gunicorn",
                    "label-studio sqlite": "Label Studio, SQLite",
                }
                lines.append(
                    f"| | {entry['tasks']:,} | {entry['overlap']} | {entry['contributors']} "
                    f"| {names[system]} | {value['cycles_per_s']} | {value['next_p50_ms']} "
                    f"| {value['next_p99_ms']} | {value['cycle_p50_ms']} | {value['cycle_p99_ms']} "
                    f"| {value['errors']} | {value.get('cpu_ms_per_cycle')} "
                    f"| {percent(value.get('cpu_busy_before'))} | {throughput} | {p99} |"
                )
        lines.append("")
        empty = [
            f"{system} at {entry['contributors']} ({entry['tasks']:,} tasks, overlap "
            f"{entry['overlap']})"
            for entry in summary["distribution"]
            for system in ("label-studio", "label-studio gunicorn", "label-studio sqlite")
            if system in entry and not entry[system]["cycles_per_s"]
        ]
        if empty:
            lines += [
                "0.0 cycles/s means no cycle ended inside the measured window: each took longer "
                f"than {settings['duration_s']:g} s ({'; '.join(empty)}); the ratio is then not "
                "taken.",
                "",
            ]
    if record["checks"]:
        lines += [
            "| Counted afterwards in each system's own database | tasks | overlap "
            "| repeated (task, person) pairs | tasks past their overlap | evaluations |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for row in record["checks"]:
            if row["system"] == "ours":
                repeated = row["repeated (task, contributor) pairs"]
                over = (
                    f"{row['tasks filled past overlap']} filled, "
                    f"{row['tasks with more submissions than overlap']} submitted"
                )
                made = row.get("submissions", "")
            else:
                repeated = row["repeated (task, annotator) pairs"]
                over = row["tasks past maximum annotations"]
                made = row["annotations"]
            lines.append(
                f"| {row['system']} | {row['tasks']:,} | {row['overlap']} | {repeated} | {over} "
                f"| {made} |"
            )
        lines.append("")
    lines += ["| goal | measured | |", "| --- | --- | --- |"]
    for goal in record["goals"]:
        met = goal.get("verdict") or mark[goal["met"]]
        if goal.get("ours") is False and goal["met"] is False:
            met = "found (the peer's)"
        elif goal.get("ours") is False and goal["met"]:
            met = "none found (the peer's)"
        lines.append(f"| {goal['goal']} | {goal['measured']} | {met} |")
    lines.append("")
    if record["losses"]:
        lines.append("Where we lose, why, and what would fix it:")
        lines.append("")
        for loss in record["losses"]:
            lines.append(f"- {loss} {why(loss)}".rstrip())
        lines.append("")
    else:
        lines += ["Where we lose: nowhere in this run.", ""]
    if record.get("shortfalls"):
        lines += ["Goals of ours not met, why, and what would fix it:", ""]
        lines += [f"- {line}" for line in record["shortfalls"]]
        lines.append("")
    aggregation = record.get("aggregation")
    if aggregation:
        fit = [row["ratio_fit_ms"] for row in aggregation["rows"] if row["ratio_fit_ms"]]
        lines.append(
            f"Aggregation against crowd-kit {aggregation['crowd_kit']} (bench/aggregation.py, "
            f"{aggregation['date']}; table above under Aggregation): fit time ours ÷ "
            f"crowd-kit from {fmt(min(fit))} to {fmt(max(fit))} over {len(fit)} fits."
        )
    table = "\n".join(lines).rstrip()
    readme = BENCH / "README.md"
    text = readme.read_text()
    heading, start, end = (
        "## Side by side with the peers",
        "<!-- peers:start -->",
        "<!-- peers:end -->",
    )
    if heading in text:  # the section's text is this script's too: written anew each time
        before, _, rest = text.partition(heading)
        _, _, after = rest.partition(end)
    else:
        before, after = text.rstrip() + "\n\n", "\n"
    readme.write_text(f"{before}{SECTION}\n{start}\n{table}\n{end}{after}")
    print(table)


SECTION = """## Side by side with the peers

    python3 dev.py bench peers      # options: --quick --sizes 100000,1000000 --rounds 3
                                    #   --levels 1,8,32,64 --overlaps 1,3 --duration 10
                                    #   --export-rounds 3 --export-limit 1800 --no-sqlite
                                    #   --merge (keep the other sizes' figures)
                                    #   --aggregation (run it first) --rewrite (table only)

Runs the same workloads on this service and on [Label Studio](https://labelstud.io), which is
never a dependency of the service: `bench/peers/labelstudio.py` makes a venv for it once,
`bench/.envs/label-studio` (ignored by git), with a pinned `label-studio` from the package index,
and starts it on 127.0.0.1 with its own PostgreSQL database (`labelstudio_peers_pg`, through
the variables it reads: `DJANGO_DB`, `POSTGRE_NAME`, …) twice, under its default server
(`label-studio start`, which is Django's threaded runserver) and under gunicorn (its
`core.wsgi:application`, 4 sync workers, as ours), and once more on its SQLite default. Its
admin and API token come from its CLI (`label-studio init --username --password --user-token
--enable-legacy-api-token`), its 64 annotators and their tokens from one call of its own
`manage.py shell`; projects (a prompt, two responses, choose the better; maximum annotations =
overlap), imports, next task, annotations and exports go through its HTTP API. Ours runs under
gunicorn on `evalmarket_peers`, made anew each run. Everything is stopped and dropped at the
end, even on error. Label Studio runs with DEBUG off, its version check and analytics off, and
its upload limit raised above its 250 MB default (the 1,000,000-task file is larger); otherwise
as installed (its default server logs every request).

Workloads, each on both systems, interleaved (ours, then the peer's, for each round; medians):
import of the same generated tasks (ours the JSONL file, Label Studio the same tasks as a JSON
array: it does not read JSONL) through each API, timed, with the peak resident memory of the
server process that did the work; work distribution, N contributors each looping "next task →
submit an evaluation" through the API at overlap 1 and 3 (throughput, p50, p99), then the
repeated (task, person) pairs and the tasks past their overlap counted in each system's own
database; export of a project whose every task has 3 evaluations as JSON with all its tasks,
read to the end, timed, with the server process's peak memory. The evaluations of the export
projects are written by SQL on both sides, as each system's own import would write them (ours:
`bench/export.py`; Label Studio's: `LabelStudio.fill`, after the same tasks came in through its
import API), then both databases are vacuumed. Label Studio's export is waited for at most
`--export-limit` seconds (1,800 by default): one that has not ended by then is reported as
stopped, its time and memory as lower bounds, and its server is restarted. Memory is that of the
server process that did the work (ours: the gunicorn worker whose memory grew; Label Studio's
default server is one process, imports and exports run in its request): its resident set before,
and its peak (VmHWM reset through /proc/PID/clear_refs just before, and sampled every 20 ms).
PostgreSQL's memory is not counted on either side. Aggregation against crowd-kit is
`bench/aggregation.py` (above); its latest figures are summed up here. `--rewrite` writes this
section again from `bench/results/peers.json`.
"""


def arguments() -> argparse.Namespace:
    def numbers(text: str) -> list[int]:
        return [int(part) for part in text.split(",")]

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="2,000 tasks, levels 1,8, 5 s rows")
    parser.add_argument("--sizes", type=numbers, help="tasks per project, e.g. 100000,1000000")
    parser.add_argument("--levels", type=numbers, help="contributors, e.g. 1,8,32,64")
    parser.add_argument("--overlaps", type=numbers, default=list(OVERLAPS), help="e.g. 1,3")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="interleaved rounds")
    parser.add_argument(
        "--export-rounds", type=int, help="rounds of the exports (default: --rounds)"
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the figures of the sizes not run now from bench/results/peers.json",
    )
    parser.add_argument(
        "--export-limit",
        type=float,
        default=EXPORT_LIMIT,
        help=f"seconds to wait for Label Studio's export (default {EXPORT_LIMIT:g}; 0: to the "
        "end); longer ones are reported as stopped, their time as at least the limit",
    )
    parser.add_argument("--duration", type=float, help="measured seconds per distribution row")
    parser.add_argument("--warmup", type=float, help="seconds before measuring")
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn workers, both")
    parser.add_argument("--no-sqlite", dest="sqlite", action="store_false", help="skip SQLite")
    parser.add_argument("--aggregation", action="store_true", help="run bench/aggregation.py first")
    parser.add_argument(
        "--rewrite",
        action="store_true",
        help="only write the table again from bench/results/peers.json",
    )
    parser.add_argument(
        "--partial",
        action="store_true",
        help="with --rewrite: from the figures of a run cut short (peers.json.tmp)",
    )
    options = parser.parse_args()
    defaults = (
        QUICK
        if options.quick
        else {
            "sizes": list(SIZES),
            "levels": list(LEVELS),
            "duration": DURATION,
            "warmup": WARMUP,
        }
    )
    for key, value in defaults.items():
        if getattr(options, key) is None:
            setattr(options, key, value)
    options.sizes = sorted(options.sizes)
    if options.export_rounds is None:
        options.export_rounds = options.rounds
    if max(options.levels) > CONTRIBUTORS:
        parser.error(f"at most {CONTRIBUTORS} contributors")
    return options


def merge(record: dict[str, Any], earlier: dict[str, Any]) -> None:
    """Keep an earlier run's figures of the sizes this run did not measure, each row marked
    with the date of its run, and that run's date, code and rounds in `record["earlier"]`."""
    kept = sorted(set(earlier["settings"]["sizes"]) - set(record["settings"]["sizes"]))
    if not kept:
        return
    for kind in ("imports", "distribution", "exports", "checks"):
        for row in earlier[kind]:
            if row["tasks"] in kept:
                record[kind].append({**row, "run": row.get("run", earlier["date"])})
    runs = {run["date"]: run for run in earlier.get("earlier", [])}
    runs[earlier["date"]] = {
        "date": earlier["date"],
        "code": earlier.get("code"),
        "rounds": earlier["settings"]["rounds"],
        "export_rounds": earlier["settings"].get("export_rounds", earlier["settings"]["rounds"]),
        "seconds": earlier.get("seconds"),
    }
    record["earlier"] = []
    for date, run in sorted(runs.items()):
        sizes = sorted({row["tasks"] for row in record["imports"] if row.get("run") == date})
        if sizes:
            record["earlier"].append({**run, "sizes": sizes})
    record["settings"]["sizes"] = sorted(set(record["settings"]["sizes"]) | set(kept))
    for key in ("levels", "overlaps"):
        record["settings"][key] = sorted(
            set(record["settings"][key]) | set(earlier["settings"][key])
        )
    record["settings"]["sqlite"] = record["settings"]["sqlite"] or earlier["settings"]["sqlite"]


def coverage(record: dict[str, Any]) -> str:
    """What each size ran, from its rows, when the sizes differ (runs merged with --merge)."""
    ran = {}
    for size in record["settings"]["sizes"]:
        rows = [row for row in record["distribution"] if row["tasks"] == size]
        overlaps = sorted({row["overlap"] for row in rows})
        levels = sorted({row["contributors"] for row in rows})
        lite = any(row["system"] == "label-studio sqlite" for row in rows)
        ran[size] = (tuple(overlaps), tuple(levels), lite)
    if len(set(ran.values())) <= 1:
        return ""
    return " " + " ".join(
        f"{size:,} tasks: overlap {', '.join(map(str, overlaps))}, contributors "
        f"{', '.join(map(str, levels))}, {'with' if lite else 'without'} Label Studio on SQLite."
        for size, (overlaps, levels, lite) in ran.items()
    )


def finish(record: dict[str, Any]) -> None:
    record["summary"] = summarise(record)
    record["goals"] = goals(record)
    record["losses"] = losses(record)
    record["shortfalls"] = shortfalls(record)
    record["aggregation"] = aggregation_summary()
    write(record)


def main() -> None:
    options = arguments()
    if options.rewrite:
        source = PARTIAL if options.partial else BENCH / "results" / "peers.json"
        record = json.loads(source.read_text())
        record.setdefault("load_average_after", load_average())
        record.setdefault("seconds", 0)
        finish(record)
        return
    if options.aggregation:
        subprocess.run([sys.executable, str(BENCH / "aggregation.py")], cwd=ROOT, check=True)  # noqa: S603
    record = run(options)
    if options.merge:
        merge(record, json.loads((BENCH / "results" / "peers.json").read_text()))
    finish(record)
    PARTIAL.unlink(missing_ok=True)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
