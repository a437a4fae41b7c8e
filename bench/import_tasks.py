"""Import benchmark: JSONL files of 100,000 and 1,000,000 tasks through `tasks_import`.

    python3 dev.py bench import_tasks
    python3 dev.py bench import_tasks --sizes 100000     # one size only

Uses its own PostgreSQL database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/evalmarket_bench_import). For each size it writes a JSONL file
of tasks (a prompt and two responses) to /tmp, streamed to disk, empties the task table, and
imports the file into a new project with the form of tests/evaluations/helpers.py, in a fresh
Python process, so that the peak memory measured is that import's own: the resident set before
the import, its peak sampled every 20 ms from /proc/self/status during it, and ru_maxrss. It
reports the wall time of `tasks_import` and lines per second. Results go to
bench/results/import.json and the table in bench/README.md.
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
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/evalmarket_bench_import"
)
os.environ["DATABASE_URL"] = BENCH_URL
os.environ["ALLOWED_HOSTS"] = "testserver"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ["LOG_LEVEL"] = "WARNING"

SIZES = (100_000, 1_000_000)
GOAL_SECONDS = 60  # for 1,000,000 lines
FLAT = 1.25  # the largest import's peak memory may exceed the smallest's by at most 25%
SAMPLE_SECONDS = 0.02
TITLE = "Import benchmark"
STAFF_EMAIL = "import-staff@bench.local"


def ensure_database() -> None:
    import psycopg

    name = BENCH_URL.rsplit("/", 1)[1]
    admin_url = BENCH_URL.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def task_lines(count: int) -> Iterator[bytes]:
    """JSONL task lines: a prompt and two responses, as a customer's export would have them."""
    import orjson

    for n in range(count):
        yield (
            orjson.dumps(
                {
                    "external_id": f"i{n}",
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


def write_file(count: int) -> tuple[Path, float]:
    """The file of `count` lines in /tmp, written in chunks; returns it and the seconds taken."""
    started = time.perf_counter()
    handle, name = tempfile.mkstemp(prefix=f"bench-import-{count}-", suffix=".jsonl")
    chunk: list[bytes] = []
    with os.fdopen(handle, "wb", buffering=1 << 20) as output:
        for line in task_lines(count):
            chunk.append(line)
            if len(chunk) == 10_000:
                output.write(b"".join(chunk))
                chunk.clear()
        output.write(b"".join(chunk))
    return Path(name), time.perf_counter() - started


def rss_kib(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak() -> None:
    """Start VmHWM (the peak resident set) afresh, so it tells the import's own peak."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass  # then VmHWM may keep an earlier peak; the sampled peak still tells the import's


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


def staff_user() -> Any:
    from contributors.models import User
    from contributors.services import user_create

    return User.objects.filter(email=STAFF_EMAIL).first() or user_create(
        email=STAFF_EMAIL,
        password=None,
        full_name="Import bench staff",
        roles=("staff",),
        is_staff=True,
        email_verified=True,
    )


def one_import(path: Path, count: int) -> dict[str, Any]:
    """In the child process: a new project, then the import of the file, measured."""
    import django

    django.setup()
    from evaluations.models import Task
    from evaluations.services import form_set, tasks_import
    from marketplace.services import project_create, project_transition
    from tests.evaluations.helpers import FORM

    staff = staff_user()
    project = project_create(
        actor=staff,
        data={
            "title": f"{TITLE} {count:,}",
            "description": "Tasks imported by the benchmark.",
            "tier": "general",
            "pay_model": "hourly",
            "pay_rate": Decimal("30.00"),
            "capacity": 100,
        },
        requires_all=["general"],
    )
    project_transition(project_id=project.pk, actor=staff, to_status="active")
    form_set(project_id=project.pk, actor=staff, schema=FORM)
    gc.collect()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reset_peak()
    before = rss_kib()
    sampler = Sampler()
    sampler.start()
    last_batch: list[float] = []
    started = time.perf_counter()
    with path.open("rb") as handle:
        result = tasks_import(
            project_id=project.pk,
            handle=handle,
            fmt="jsonl",
            progress=lambda _result: last_batch.append(time.perf_counter()),
        )
    seconds = time.perf_counter() - started
    # Reading, checking and COPY into the staging table end with the last batch; the rest is
    # the final INSERT … SELECT into evaluations_task (and the commit).
    copied = (last_batch[-1] if last_batch else started) - started
    sampled = sampler.stop()
    peak = max(sampled, rss_kib("VmHWM"))
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert result.imported == count, (result.imported, result.invalid, result.errors[:3])
    assert Task.objects.filter(project=project).count() == count
    return {
        "lines": count,
        "imported": result.imported,
        "seconds": round(seconds, 1),
        "lines_per_s": round(count / seconds),
        "read_check_copy_s": round(copied, 1),
        "insert_commit_s": round(seconds - copied, 1),
        "rss_before_mib": round(before / 1024, 1),
        "rss_peak_mib": round(peak / 1024, 1),
        "rss_growth_mib": round((peak - before) / 1024, 1),
        "rss_sampled_peak_mib": round(sampled / 1024, 1),
        "rss_samples": sampler.samples,
        "ru_maxrss_before_mib": round(maxrss_before / 1024, 1),
        "ru_maxrss_after_mib": round(maxrss_after / 1024, 1),
    }


def empty_tables() -> None:
    """Only this benchmark's database: drop the tasks (and what hangs on them) and projects."""
    from django.db import connection

    from marketplace.models import Project

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE evaluations_task CASCADE")
    Project.objects.filter(title__startswith=TITLE).delete()


def cpu_busy(seconds: float = 3.0) -> float:
    """The share of the machine's CPU time that was busy over `seconds` (others' work too)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            values = [int(value) for value in stat.readline().split()[1:]]
        idle = values[3] + values[4]  # idle, iowait
        return sum(values) - idle, sum(values)

    busy_before, total_before = sample()
    time.sleep(seconds)
    busy_after, total_after = sample()
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


def goals(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by = {run["lines"]: run for run in runs}
    million = by.get(1_000_000)
    found = [
        {
            "goal": f"1,000,000 tasks imported in under {GOAL_SECONDS} s",
            "measured": f"{million['seconds']} s" if million else "not run",
            "met": None if million is None else million["seconds"] < GOAL_SECONDS,
        }
    ]
    smallest, largest = by[min(by)], by[max(by)]
    ratio = largest["rss_peak_mib"] / smallest["rss_peak_mib"]
    found.append(
        {
            "goal": f"flat memory: peak at {largest['lines']:,} lines at most "
            f"{(FLAT - 1) * 100:.0f}% above the peak at {smallest['lines']:,}",
            "measured": f"{largest['rss_peak_mib']} / {smallest['rss_peak_mib']} MiB = {ratio:.2f}",
            "met": None if len(by) < 2 else ratio <= FLAT,
        }
    )
    return found


def write(record: dict[str, Any]) -> None:
    (ROOT / "bench" / "results" / "import.json").write_text(json.dumps(record, indent=2) + "\n")
    mark = {True: "met", False: "**not met**", None: "not run"}
    lines = [
        f"Measured {record['date']} on {record['machine']}, PostgreSQL {record['postgres']}; "
        f"each import into an empty task table, in its own process. Memory is the importing "
        f"process's resident set (PostgreSQL's is not counted): before the import, and its peak "
        f"during it (VmHWM reset just before; a sampler reading every 20 ms agrees). ru_maxrss "
        f"keeps the highest mark since the process started (after a fork and exec that is the "
        f"parent's size), so it only shows whether the import raised it. CPU busy before: "
        f"the machine's CPU use just before the import (others' work), which should be near 0.",
        "",
        "| lines | file MiB | import s (read, check, COPY + final INSERT) | lines/s "
        "| RSS before MiB | RSS peak MiB | growth MiB | ru_maxrss before → after MiB "
        "| CPU busy before |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in record["runs"]:
        lines.append(
            f"| {run['lines']:,} | {run['file_mib']} | {run['seconds']} "
            f"({run['read_check_copy_s']} + {run['insert_commit_s']}) | {run['lines_per_s']:,} "
            f"| {run['rss_before_mib']} | {run['rss_peak_mib']} | {run['rss_growth_mib']} "
            f"| {run['ru_maxrss_before_mib']} → {run['ru_maxrss_after_mib']} "
            f"| {run['cpu_busy_before']:.0%} |"
        )
    lines += ["", "| goal | measured | |", "| --- | --- | --- |"]
    lines += [f"| {g['goal']} | {g['measured']} | {mark[g['met']]} |" for g in record["goals"]]
    table = "\n".join(lines)
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()
    start, end = "<!-- import:start -->", "<!-- import:end -->"
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    readme.write_text(f"{before}{start}\n{table}\n{end}{after}")
    print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(part) for part in text.split(",")],
        default=list(SIZES),
        help="lines per file, e.g. 100000,1000000",
    )
    parser.add_argument("--child", nargs=2, metavar=("PATH", "LINES"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        result = one_import(Path(options.child[0]), int(options.child[1]))
        print("RESULT " + json.dumps(result))
        return

    import django

    started = time.monotonic()
    ensure_database()
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command("assessments_load", verbosity=0)
    staff_user()
    runs = []
    for count in options.sizes:
        path, written = write_file(count)
        try:
            size = path.stat().st_size
            print(f"bench: wrote {count:,} lines ({size / 2**20:.0f} MiB) in {written:.1f} s")
            empty_tables()
            busy = cpu_busy(2.0)  # should be near 0: nobody else at work on the machine
            if busy > 0.1:
                print(f"bench: warning: the machine was {busy:.0%} busy before this import")
            child = subprocess.run(  # noqa: S603 - this script, with our own arguments
                [sys.executable, __file__, "--child", str(path), str(count)],
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            )
        except subprocess.CalledProcessError as error:
            print(error.stdout, error.stderr, sep="\n", file=sys.stderr)
            raise
        finally:
            path.unlink()
        result = json.loads(child.stdout.rsplit("RESULT ", 1)[1])
        result["file_mib"] = round(size / 2**20)
        result["write_s"] = round(written, 1)
        result["cpu_busy_before"] = round(busy, 2)
        print(
            f"bench: imported {count:,} in {result['seconds']} s "
            f"({result['lines_per_s']:,} lines/s), RSS {result['rss_before_mib']} → "
            f"{result['rss_peak_mib']} MiB, ru_maxrss {result['ru_maxrss_before_mib']} → "
            f"{result['ru_maxrss_after_mib']} MiB",
            flush=True,
        )
        runs.append(result)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    record = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "postgres": postgres,
        "runs": runs,
        "goals": goals(runs),
    }
    write(record)
    print(f"bench: done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
