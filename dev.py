#!/usr/bin/env python3
"""Set up and run the service, or its tests, on a fresh machine with only Python 3.11 and git.

    python3 dev.py run      # virtualenv, install, migrate, demo data, serve on 127.0.0.1:8000
    python3 dev.py test     # virtualenv, install, the whole test suite
    python3 dev.py bench NAME   # a benchmark in bench/ (e.g. dashboard), on local PostgreSQL

`run` uses the zero-setup defaults (a SQLite file, Celery in-process) unless DATABASE_URL and
CELERY_BROKER_URL are set. `test` uses PostgreSQL and Redis when they answer on 127.0.0.1 (or
when DATABASE_URL / CELERY_BROKER_URL say where), and otherwise SQLite, skipping with a reason
the tests that need the real services. Extra arguments after `test` go to pytest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("EVALMARKET_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"

LOCAL_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/evalmarket"
# Tests use their own Redis database number so that a developer's running worker is left alone.
LOCAL_REDIS_TEST_URL = "redis://127.0.0.1:6379/15"


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        print("Python 3.11 or newer is needed; this is " + sys.version.split()[0], file=sys.stderr)
        return 2
    if not argv or argv[0] not in {"run", "test", "install", "bench"}:
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "install":
        ensure_environment(with_dev="--dev" in rest)
        return 0
    if command == "run":
        ensure_environment(with_dev=False)
        return run_service(rest)
    if command == "bench":
        ensure_environment(with_dev=True)
        script = ROOT / "bench" / f"{rest[0] if rest else ''}.py"
        if not rest or not script.is_file():
            print(
                "dev: name a benchmark in bench/, e.g. `python3 dev.py bench dashboard`",
                file=sys.stderr,
            )
            return 2
        return subprocess.call([str(PYTHON), str(script), *rest[1:]], cwd=ROOT)
    ensure_environment(with_dev=True)
    return run_tests(rest)


def ensure_environment(*, with_dev: bool) -> None:
    """Create the virtualenv and install the pinned dependencies, once per change of pins."""
    if not PYTHON.exists():
        print(f"dev: creating virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    if with_dev:
        requirements += project["optional-dependencies"]["dev"]
    digest = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()
    stamp = VENV / f".installed-{'dev' if with_dev else 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"dev: installing {len(requirements)} pinned packages")
    subprocess.run(
        [
            str(PYTHON),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *requirements,
        ],
        check=True,
    )
    stamp.write_text(digest)


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([str(PYTHON), str(ROOT / "manage.py"), *args], check=True, env=env, cwd=ROOT)


def run_service(args: list[str]) -> int:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    address = args[0] if args else "127.0.0.1:8000"
    manage("migrate", "--noinput", env=env)
    manage("assessments_load", env=env)
    manage("demo_load", env=env)
    manage("demo_projects", env=env)
    manage("demo_tasks", env=env)
    manage("demo_quality", env=env)
    manage("demo_payouts", env=env)
    print(f"dev: serving on http://{address}/  (Ctrl+C stops)")
    return subprocess.call(
        [str(PYTHON), str(ROOT / "manage.py"), "runserver", address], env=env, cwd=ROOT
    )


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def run_tests(args: list[str]) -> int:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    if "DATABASE_URL" not in env and answers("127.0.0.1", 5432):
        env["DATABASE_URL"] = LOCAL_POSTGRES_URL
    if "CELERY_BROKER_URL" not in env and answers("127.0.0.1", 6379):
        env["CELERY_BROKER_URL"] = LOCAL_REDIS_TEST_URL
    chromium = env.get("CHROMIUM_PATH") or shutil.which("chromium") or ""
    if chromium:
        env["CHROMIUM_PATH"] = chromium
    print("dev: database " + env.get("DATABASE_URL", "SQLite (PostgreSQL-only tests skip)"))
    print("dev: broker   " + env.get("CELERY_BROKER_URL", "none (real-worker tests skip)"))
    print("dev: browser  " + (chromium or "no chromium found (browser tests skip)"))
    return subprocess.call([str(PYTHON), "-m", "pytest", *args], env=env, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
