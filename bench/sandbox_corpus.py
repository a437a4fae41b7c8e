"""The sandbox corpus in full: every hostile program of tests/sandbox_corpus/ three times with the
code runner's limits, and every one as a code answer through a real Celery worker.

    python3 dev.py bench sandbox_corpus

Runs tests/assessments/test_sandbox_corpus.py with SANDBOX_CORPUS=full through `dev.py test`
(so PostgreSQL and Redis on 127.0.0.1 are found as for the test suite; this script gives them a
test database and a Redis database of their own, so a test run at the same time is left alone),
collects the figure the module reports (FIGURES_FILE), and writes it, with the date and the
machine, into bench/README.md between the sandbox_corpus markers. Exits as pytest did.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE = "tests/assessments/test_sandbox_corpus.py"
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/evalmarket_sandbox_corpus"
BROKER_URL = "redis://127.0.0.1:6379/11"
START, END = "<!-- sandbox_corpus:start -->", "<!-- sandbox_corpus:end -->"
SECTION = f"""
## Sandbox corpus

    python3 dev.py bench sandbox_corpus

Runs the hostile programs of `tests/sandbox_corpus/` (endless loops, fork bombs, daemons, huge
allocations, files and output, connections to PostgreSQL, Redis, the metadata address and the
host's own listeners, secrets in the environment and the settings, planted symlinks, killing
the parent, segfaults, ignored signals, nested user namespaces, …) against `common/sandbox.py`
with the code runner's limits, each three times, then every one as a code answer through a real
Celery worker. Each attack says what escaping would mean for it and how it is caught; the test
also checks every run from the host (canary files, listeners, planted secrets, the process
list). The short corpus (one run each, the smallest limits) runs in CI. Figures: attacks tried,
sandbox runs, answers through the worker, escapes (goal 0), processes surviving a run (goal 0),
runner or worker crashes (goal 0).

{START}
{END}
"""


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def machine() -> str:
    with open("/proc/meminfo") as handle:
        memory = int(handle.readline().split()[1]) / 1024 / 1024
    bwrap = subprocess.run(["bwrap", "--version"], capture_output=True, text=True, check=False)  # noqa: S607
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB, "
        f"Python {platform.python_version()}, Linux {platform.release()}, "
        f"{bwrap.stdout.strip() or 'no bwrap'}"
    )


def load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def run() -> tuple[int, dict[str, object], str]:
    """Run the full corpus; returns pytest's exit code, the figure and pytest's last line."""
    figures = Path(tempfile.mkstemp(prefix="sandbox-corpus-", suffix=".jsonl")[1])
    env = {**os.environ, "SANDBOX_CORPUS": "full", "FIGURES_FILE": str(figures)}
    if "DATABASE_URL" not in env and answers(5432):
        env["DATABASE_URL"] = DATABASE_URL
    if "CELERY_BROKER_URL" not in env and answers(6379):
        env["CELERY_BROKER_URL"] = BROKER_URL
    process = subprocess.Popen(  # noqa: S603 - our own test command
        [sys.executable, str(ROOT / "dev.py"), "test", MODULE, "-q"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    last = ""
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        last = line.strip() or last
    code = process.wait()
    records = [json.loads(line) for line in figures.read_text().splitlines() if line.strip()]
    figures.unlink()
    found = [record["values"] for record in records if record["name"] == "sandbox_corpus"]
    return code, (found[-1] if found else {}), last.strip("= ")


def write(values: dict[str, object], summary: str, load_before: str) -> str:
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    keys = ("attacks", "runs", "worker_answers", "escaped", "surviving", "worker_crashes")
    table = "\n".join(
        [
            f"Measured {date} on {machine()}; mode {values.get('mode', '?')}; load average "
            f"(1/5/15 min) {load_before} before, {load()} after (on a busy machine CPU-bound "
            f"attacks meet the wall-clock limit first); pytest: {summary}.",
            "",
            "| attacks | sandbox runs | answers through the worker | escaped | processes "
            "surviving a run | runner or worker crashes |",
            "| --- | --- | --- | --- | --- | --- |",
            "| " + " | ".join(str(values.get(key, "?")) for key in keys) + " |",
        ]
    )
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()
    if START not in text:
        text = text.rstrip("\n") + "\n" + SECTION
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    readme.write_text(f"{before}{START}\n{table}\n{END}{after}")
    return table


def main() -> int:
    load_before = load()
    code, values, summary = run()
    print(write(values, summary, load_before))
    return code


if __name__ == "__main__":
    sys.exit(main())
