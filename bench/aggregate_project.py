"""Service-level aggregation benchmark: the whole aggregation job on projects of 300,000 and
3,000,000 submissions.

    python3 dev.py bench aggregate_project               # both sizes (seeds them if needed)
    python3 dev.py bench aggregate_project --sizes 100000

It uses the export benchmark's database and projects (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/evalmarket_bench_export; bench/export.py seeds them on first
use: per-task projects of 100,000 and 1,000,000 tasks, each with 3 accepted submissions from 30
contributors, answering a rating per response, a preference with its strength and a rationale).
For each project it runs `evaluations.services.aggregation.aggregation_run` twice, each time in a
fresh process: a full run (the project's earlier runs and results are deleted first) and then an
incremental one (nothing changed since). It reports wall time, the job's own CPU time, peak
resident memory (VmHWM reset just before) and what the run stored. The goal is the issue's:
"aggregation of a project with a million submissions must not load them all into Python objects
at once", read here as: the peak grows by the answers' compact arrays (a few hundred bytes per
submission), never by a model object per submission. Results go to
bench/results/aggregate_project.json and the table in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import export  # noqa: E402 - sets the database URL and settings for this process

SIZES = (100_000, 1_000_000)
MINE = "bench/aggregate_project.py"


def one_run(project_id: int) -> dict[str, Any]:
    """In the child process: one aggregation job, measured."""
    import django

    django.setup()
    from evaluations.models import AggregateResult, AggregationRun, Submission
    from evaluations.services.aggregation import aggregation_run

    submissions = Submission.objects.filter(project_id=project_id).count()
    earlier = AggregationRun.objects.filter(project_id=project_id, status="done").count()
    run = AggregationRun.objects.create(
        project_id=project_id,
        params={
            "dawid_skene": {"max_iter": 100, "tol": 1e-5},
            "bradley_terry": {"tol": 1e-10, "bootstrap": 200, "level": 0.95},
            "kappa_pairs": 10,
        },
    )
    export.reset_peak()
    before = export.rss_kib("VmRSS")
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    run = aggregation_run(run_id=run.pk)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    peak = export.rss_kib("VmHWM")
    questions = run.summary.get("questions", {})
    return {
        "submissions": submissions,
        "kind": "incremental" if earlier else "full",
        "seconds": round(seconds, 2),
        "cpu_s": round(after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, 2),
        "rss_before_mib": round(before / 1024, 1),
        "rss_peak_mib": round(peak / 1024, 1),
        "rss_growth_mib": round((peak - before) / 1024, 1),
        "submissions_seen": run.submissions_seen,
        "tasks_updated": run.tasks_updated,
        "results_stored": AggregateResult.objects.filter(project_id=project_id).count(),
        "questions": {
            name: {key: info[key] for key in sorted(info) if key in ("alpha", "methods", "level")}
            for name, info in questions.items()
        },
    }


def measure(
    size: int, project_id: int, others: export.Others, *, wait: bool = True
) -> list[dict[str, Any]]:
    from django.db import connection

    with connection.cursor() as cursor:  # start from nothing: a full run first
        cursor.execute(
            "DELETE FROM evaluations_aggregateresult WHERE project_id = %s", [project_id]
        )
        cursor.execute("DELETE FROM evaluations_aggregationrun WHERE project_id = %s", [project_id])
    rows = []
    for _ in range(2):
        waited = export.wait_for_quiet(others) if wait else 0.0
        busy = export.cpu_busy(1.0)
        child = subprocess.run(  # noqa: S603 - this script, fixed arguments
            [sys.executable, __file__, "--child", str(project_id)],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode:
            raise SystemExit(f"bench: the aggregation failed:\n{child.stderr[-4000:]}")
        row = json.loads(child.stdout.strip().splitlines()[-1])
        row.update(tasks=size, cpu_busy_before=round(busy, 2), waited_s=round(waited))
        print(
            f"bench: {size:,} tasks, {row['kind']}: {row['seconds']} s, CPU {row['cpu_s']} s, "
            f"peak {row['rss_peak_mib']} MiB (+{row['rss_growth_mib']})",
            flush=True,
        )
        rows.append(row)
    connection.close()
    return rows


def write(record: dict[str, Any]) -> None:
    (ROOT / "bench" / "results" / "aggregate_project.json").write_text(
        json.dumps(record, indent=2) + "\n"
    )
    lines = [
        f"Measured {record['date']} on {record['machine']}, PostgreSQL {record['postgres']}; the "
        f"export benchmark's per-task projects (3 accepted submissions a task, 30 contributors; "
        f"questions: a 1–7 rating per response, a preference between two responses, a "
        f"rationale). Each run is `aggregation_run` in a fresh process; full first (earlier runs "
        f"and results deleted), then incremental (nothing changed since). Memory: the job's "
        f"resident set before and at its peak (VmHWM reset just before; PostgreSQL's not "
        f"counted). CPU busy before: the machine's, others' work (should be near 0).",
        "",
        "| tasks | submissions | run | s | CPU s | RSS before MiB | RSS peak MiB | growth MiB "
        "| bytes of growth per submission | submissions read | tasks updated | results stored "
        "| CPU busy before |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in record["runs"]:
        per = row["rss_growth_mib"] * 1024 * 1024 / max(1, row["submissions"])
        lines.append(
            f"| {row['tasks']:,} | {row['submissions']:,} | {row['kind']} | {row['seconds']} "
            f"| {row['cpu_s']} | {row['rss_before_mib']} | {row['rss_peak_mib']} "
            f"| {row['rss_growth_mib']} | {per:,.0f} | {row['submissions_seen']:,} "
            f"| {row['tasks_updated']:,} | {row['results_stored']:,} "
            f"| {row['cpu_busy_before']:.0%} |"
        )
    table = "\n".join(lines)
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()
    start, end = "<!-- aggregate_project:start -->", "<!-- aggregate_project:end -->"
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    readme.write_text(f"{before}{start}\n{table}\n{end}{after}")
    print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="measure at once, without waiting for other benchmarks and tests to end (the "
        "memory figures hold on a busy machine; the times do not)",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(one_run(options.child)))
        return
    sizes = [int(size) for size in options.sizes.split(",")]
    export.MINE = MINE  # others are looked for by bench/export.py's rules, this script aside
    import django

    export.ensure_database(reseed=False)
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    projects, _seeding = export.seed(sizes)
    connection.close()
    others = export.Others()
    runs = []
    for size in sizes:
        runs += measure(size, projects[size], others, wait=not options.no_wait)

    write(
        {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": export.machine(),
            "postgres": connection.cursor().connection.info.parameter_status("server_version"),
            "runs": runs,
        }
    )


if __name__ == "__main__":
    main()
