"""The reliability and security figures: run the test suite and collect every `FIGURE` line.

    python3 dev.py bench figures                 # the whole suite (as .ci/run does), then the table
    python3 dev.py bench figures -- -k sandbox   # pytest arguments after --
    python3 dev.py bench figures --render FILE   # only turn a FIGURES_FILE into the table

Tests report figures with `tests.figures.figure(name, key=value, ...)`; with FIGURES_FILE set
each one appends a JSON line there. This script sets it, runs `python3 dev.py test` (PostgreSQL,
Redis, a real worker and Chromium when they answer, as CI does), and writes the latest value of
each figure, with the date, the machine and the command, to docs/figures.md. The long parts of
the suite have their own commands in bench/ (e.g. `python3 dev.py bench sandbox_corpus`) and
tables in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "docs" / "figures.md"
COMMAND = "python3 dev.py bench figures"


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


def render(path: Path, *, exit_code: int | None, command: str) -> str:
    latest: dict[str, dict] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            latest[record["name"]] = record
    lines = [
        "# Reliability and security figures",
        "",
        f"Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M UTC}, {machine()}"
        + ("" if exit_code is None else f"; the test run exited with {exit_code}")
        + ". Each row is the last value a test reported with `tests.figures.figure`.",
        "",
        "| figure | values | at |",
        "| --- | --- | --- |",
    ]
    for name in sorted(latest):
        record = latest[name]
        values = ", ".join(f"{key}={value}" for key, value in record["values"].items())
        lines.append(f"| {name} | {values} | {record['at']} |")
    if not latest:
        lines.append("| (none reported) | | |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--render", type=Path, help="only render this FIGURES_FILE")
    parser.add_argument("--print-only", action="store_true", help="print, do not write the table")
    parser.add_argument("pytest_args", nargs="*")
    options = parser.parse_args()
    if options.render:
        table = render(options.render, exit_code=None, command=COMMAND)
        print(table)
        if not options.print_only:
            TABLE.write_text(table)
        return 0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "figures.jsonl"
        path.touch()
        env = {**os.environ, "FIGURES_FILE": str(path)}
        code = subprocess.call(  # noqa: S603 - our own test command, arguments from the caller
            [sys.executable, str(ROOT / "dev.py"), "test", "-q", *options.pytest_args],
            cwd=ROOT,
            env=env,
        )
        table = render(path, exit_code=code, command=COMMAND)
    TABLE.parent.mkdir(exist_ok=True)
    TABLE.write_text(table)
    print(table)
    return code


if __name__ == "__main__":
    sys.exit(main())
