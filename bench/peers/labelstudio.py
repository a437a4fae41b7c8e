"""Label Studio as a peer: its own venv, its own server and database, driven through its API.

Label Studio is never a dependency of the service. `ensure_env` makes bench/.envs/label-studio
once with `python3 -m venv` and installs the pinned release there (the only download, once).
`LabelStudio` runs one instance of it on 127.0.0.1:

- database "postgresql": its own PostgreSQL database (labelstudio_peers_<name>), through the
  variables Label Studio reads (DJANGO_DB=default, POSTGRE_NAME/USER/PASSWORD/HOST/PORT);
  database "sqlite": its default, a SQLite file in the instance's data folder;
- server "default": `label-studio start`, which serves with Django's threaded runserver;
  server "gunicorn": its WSGI app `core.wsgi:application` (inside the label_studio package)
  under gunicorn with sync workers, as its Docker image can.

The admin user and its API token come from its CLI (`label-studio init --username --password
--user-token --enable-legacy-api-token`); the annotators, each with a known token, from one call
of its own manage.py (`shell -c`), since its API creates users without a password or a token.
Projects, imports, next task, annotations and exports go through its HTTP API. `close` stops
the server processes it started (by their process group) and drops its database and files.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPResponse
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent.parent
ENV = ROOT / "bench" / ".envs" / "label-studio"
PYTHON = ENV / "bin" / "python"
VERSION = "1.23.2"  # the newest release on the package index that installs on Python 3.11 here
# gunicorn pinned as the service pins it, so both run under the same server.
REQUIREMENTS = (f"label-studio=={VERSION}", "gunicorn==27.0.1")
POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
DATABASE_PREFIX = "labelstudio_peers"
KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "USER")
ADMIN_EMAIL = "admin@peers.local"
# Made anew for each run: the instance is local and thrown away, but no password or token is
# written in the repository (tests/common/test_deployment.py scans for them).
ADMIN_TOKEN = secrets.token_hex(20)
PASSWORD = secrets.token_urlsafe(16)

# "Prompt + two responses, choose the better": the three texts and one required choice.
LABEL_CONFIG = """<View>
  <Header value="Prompt"/>
  <Text name="prompt" value="$prompt"/>
  <Header value="Response A"/>
  <Text name="response_a" value="$response_a"/>
  <Header value="Response B"/>
  <Text name="response_b" value="$response_b"/>
  <Choices name="better" toName="prompt" choice="single" required="true">
    <Choice value="A"/>
    <Choice value="B"/>
  </Choices>
</View>"""

# Annotators made in one process of Label Studio's own Django (its API cannot set a password
# or a token). Reads a JSON list of [email, token] on stdin; prints [[id, email, token], ...].
ANNOTATORS_SCRIPT = """
import json, sys
from organizations.models import Organization
from rest_framework.authtoken.models import Token
from users.models import User
org = Organization.objects.order_by('id').first()
found = []
for email, key in json.loads(sys.stdin.read()):
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=PASSWORD)
        org.add_user(user)
        user.active_organization = org
        user.save(update_fields=['active_organization'])
    Token.objects.filter(user=user).delete()
    Token.objects.create(user=user, key=key)
    found.append([user.id, email, key])
print('ANNOTATORS ' + json.dumps(found))
"""


# Annotations as its importer makes them (see `LabelStudio.fill`): the n-th task of the project
# gets k = 0, 1, 2 from annotators n + 10k (mod their count), choice B when n + k is a multiple
# of 4, else A.
FILL_SQL = """
INSERT INTO task_completion (
    result, task_id, project_id, completed_by_id, was_cancelled, ground_truth, created_at,
    updated_at, lead_time, prediction, result_count, unique_id, bulk_created
)
SELECT CASE WHEN (t.n + k) %% 4 = 0 THEN %(b)s::jsonb ELSE %(a)s::jsonb END,
       t.id, t.project_id, (%(people)s::int[])[1 + (t.n + 10 * k) %% %(count)s],
       false, true, now(), now(), 30.0, '{}'::jsonb, 0, gen_random_uuid(), false
FROM (
    SELECT id, project_id, row_number() OVER (ORDER BY id) - 1 AS n
    FROM task WHERE project_id = %(project)s
) AS t
CROSS JOIN generate_series(0, %(per_task)s - 1) AS k
ORDER BY t.id, k
"""


def ensure_env() -> str:
    """Label Studio's own venv, made once; returns the installed version."""
    if not PYTHON.exists():
        print(f"peers: creating {ENV.relative_to(ROOT)}", flush=True)
        subprocess.run(["python3", "-m", "venv", str(ENV)], check=True)  # noqa: S603, S607
    probe = [
        str(PYTHON),
        "-c",
        "from importlib.metadata import version; print(version('label-studio'))",
    ]
    installed = subprocess.run(probe, capture_output=True, text=True)  # noqa: S603
    if installed.stdout.strip() != VERSION:
        print(f"peers: installing {', '.join(REQUIREMENTS)} (once)", flush=True)
        subprocess.run(  # noqa: S603
            [
                str(PYTHON),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *REQUIREMENTS,
            ],
            check=True,
        )
    return VERSION


def package_dir() -> Path:
    found = subprocess.run(  # noqa: S603
        [
            str(PYTHON),
            "-c",
            "import label_studio, os; print(os.path.dirname(label_studio.__file__))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(found.stdout.strip())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def annotator_token(n: int) -> str:
    return f"peersannotator{n:026d}"[:40]


def annotator_email(n: int) -> str:
    return f"annotator{n}@peers.local"


def choice_result(choice: str) -> list[dict[str, Any]]:
    """An annotation's result for the config: the better response, A or B."""
    return [
        {
            "from_name": "better",
            "to_name": "prompt",
            "type": "choices",
            "value": {"choices": [choice]},
        }
    ]


class ApiError(RuntimeError):
    pass


class Client:
    """A keep-alive HTTP client of one Label Studio instance, as one user (token)."""

    def __init__(self, port: int, token: str, timeout: float | None = 3600) -> None:
        self.port = port
        self.timeout = timeout
        self.connection = HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.headers = {"Authorization": f"Token {token}"}

    def open(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> HTTPResponse:
        try:
            self.connection.request(
                method, path, body=body, headers={**self.headers, **(headers or {})}
            )
            return self.connection.getresponse()
        except TimeoutError:
            raise  # a slow answer, not a closed connection: never send it twice
        except (ConnectionError, OSError):
            # A server that closed the kept-alive connection: reconnect once (not for a stream).
            if body is not None and not isinstance(body, bytes):
                raise
            self.connection.close()
            self.connection = HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self.connection.request(
                method, path, body=body, headers={**self.headers, **(headers or {})}
            )
            return self.connection.getresponse()

    def json(
        self, method: str, path: str, payload: Any = None, expect: tuple[int, ...] = (200, 201)
    ) -> Any:
        body = None if payload is None else json.dumps(payload).encode()
        response = self.open(
            method, path, body, {"Content-Type": "application/json"} if body else None
        )
        data = response.read()
        if response.status not in expect:
            raise ApiError(f"{method} {path}: HTTP {response.status}: {data[:300]!r}")
        return json.loads(data) if data else None

    def close(self) -> None:
        self.connection.close()


def multipart(
    path: Path, field: str, extra: dict[str, str] | None = None
) -> tuple[Iterator[bytes], int, str]:
    """A multipart/form-data body streamed from a file: (chunks, length, content type)."""
    boundary = f"peers{os.urandom(8).hex()}"
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in (extra or {}).items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
        f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def chunks() -> Iterator[bytes]:
        yield head
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                yield block
        yield tail

    length = len(head) + path.stat().st_size + len(tail)
    return chunks(), length, f"multipart/form-data; boundary={boundary}"


@dataclass
class Server:
    kind: str  # "default" (label-studio start: Django's runserver) or "gunicorn"
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    workers: int = 4  # gunicorn's


def halt(server: Server) -> None:
    """Stop one server by its own process group: SIGTERM, then SIGKILL after 30 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()


class LabelStudio:
    """One Label Studio instance; use as a context manager so it is always torn down."""

    def __init__(self, *, name: str, database: str) -> None:
        assert database in ("postgresql", "sqlite")
        self.name, self.database = name, database
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"bench-peers-ls-{name}-"))
        self.db_name = f"{DATABASE_PREFIX}_{name}"
        self.servers: list[Server] = []
        self.annotators: list[tuple[int, str, str]] = []  # (id, email, token)

    # Lifecycle ----------------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        # Only the basics of this environment: the service's and the other benchmarks' variables
        # (ALLOWED_HOSTS, DATABASE_URL, …) would be read by Label Studio too.
        env = {key: os.environ[key] for key in KEEP if key in os.environ}
        env.update(
            {
                "LABEL_STUDIO_BASE_DATA_DIR": str(self.data_dir),
                "DEBUG": "false",
                "LOG_LEVEL": "WARNING",
                "LATEST_VERSION_CHECK": "false",
                "COLLECT_ANALYTICS": "false",
                "DJANGO_SETTINGS_MODULE": "core.settings.label_studio",
                # Its default refuses uploads over 250 MB; the 1,000,000-task file is larger.
                "DATA_UPLOAD_MAX_MEMORY_SIZE": str(4 << 30),
            }
        )
        if self.database == "postgresql":
            env.update(
                {
                    "DJANGO_DB": "default",
                    "POSTGRE_NAME": self.db_name,
                    "POSTGRE_USER": POSTGRES["user"],
                    "POSTGRE_PASSWORD": "",
                    "POSTGRE_HOST": POSTGRES["host"],
                    "POSTGRE_PORT": str(POSTGRES["port"]),
                }
            )
        else:
            env.update(
                {
                    "DJANGO_DB": "sqlite",
                    "DATABASE_NAME": str(self.data_dir / "label_studio.sqlite3"),
                }
            )
        return env

    def create_database(self) -> None:
        if self.database != "postgresql":
            return
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **POSTGRES) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{self.db_name}"')

    def cli(self, *arguments: str, stdin: str | None = None) -> str:
        """Label Studio's own command line (`label-studio ...`), in its venv."""
        done = subprocess.run(  # noqa: S603 - its venv's entry point, our own arguments
            [str(ENV / "bin" / "label-studio"), *arguments],
            env=self.environment(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if done.returncode:
            raise ApiError(f"label-studio {arguments[0]} failed: {done.stderr[-2000:]}")
        return done.stdout

    def init(self) -> None:
        """Its database (migrated by its CLI) and the admin with a known API token."""
        self.create_database()
        self.cli(
            "init",
            "--no-browser",
            "--username",
            ADMIN_EMAIL,
            "--password",
            PASSWORD,
            "--user-token",
            ADMIN_TOKEN,
            "--enable-legacy-api-token",
            "--data-dir",
            str(self.data_dir),
        )

    def make_annotators(self, count: int) -> list[tuple[int, str, str]]:
        pairs = [[annotator_email(n), annotator_token(n)] for n in range(count)]
        done = subprocess.run(  # noqa: S603 - its venv's python and its own manage.py
            [
                str(PYTHON),
                "manage.py",
                "shell",
                "-c",
                ANNOTATORS_SCRIPT.replace("PASSWORD", repr(PASSWORD)),
            ],
            cwd=package_dir(),
            env=self.environment(),
            input=json.dumps(pairs),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode or "ANNOTATORS " not in done.stdout:
            raise ApiError(f"annotators not made: {done.stdout[-1000:]} {done.stderr[-2000:]}")
        found = json.loads(done.stdout.rsplit("ANNOTATORS ", 1)[1])
        self.annotators = [(row[0], row[1], row[2]) for row in found]
        return self.annotators

    def start(self, server: str = "default", workers: int = 4, port: int | None = None) -> Server:
        """One more server of this instance (same database and files), on a free port unless
        one is given."""
        port = port or free_port()
        if server == "default":
            command = [
                str(ENV / "bin" / "label-studio"),
                "start",
                "--no-browser",
                "--internal-host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(self.data_dir),
            ]
            cwd = self.data_dir
        else:
            command = [
                str(ENV / "bin" / "gunicorn"),
                "core.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--timeout",
                "3600",
                "--log-level",
                "warning",
            ]
            cwd = package_dir()
        log = self.data_dir / f"server-{server}-{port}.log"
        with log.open("ab") as output:
            process = subprocess.Popen(  # noqa: S603 - its venv's programs, fixed arguments
                command,
                cwd=cwd,
                env=self.environment(),
                stdout=output,
                stderr=output,
                start_new_session=True,  # its own process group, stopped as one in `stop`
            )
        found = Server(kind=server, port=port, process=process, log=log, workers=workers)
        self.servers.append(found)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise ApiError(f"Label Studio exited with {process.returncode}: {tail}")
            try:
                probe = HTTPConnection("127.0.0.1", port, timeout=10)
                probe.request("GET", "/health")
                status = probe.getresponse().status
                probe.close()
                if status < 500:
                    client = Client(port, ADMIN_TOKEN)
                    client.json("GET", "/api/current-user/whoami")
                    client.close()
                    return found
            except OSError:
                pass
            time.sleep(0.5)
        raise ApiError(f"Label Studio did not answer on port {port}; see {log}")

    def stop(self) -> None:
        """Stop every server this instance started, each by its own process group."""
        for server in self.servers:
            halt(server)
        self.servers.clear()

    def restart(self, server: Server) -> None:
        """Stop one server (and whatever request it was still serving) and start it again on
        the same port; the same `Server` then holds the new process."""
        halt(server)
        index = self.servers.index(server)
        fresh = self.start(server.kind, server.workers, port=server.port)
        self.servers.remove(fresh)
        server.process, server.log = fresh.process, fresh.log
        self.servers[index] = server

    def close(self) -> None:
        """Stop the server and remove everything this instance made: database and files."""
        self.stop()
        if self.database == "postgresql":
            import psycopg

            with psycopg.connect(dbname="postgres", autocommit=True, **POSTGRES) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LabelStudio:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # API ----------------------------------------------------------------------------------------

    def admin(self) -> Client:
        return Client(self.servers[0].port, ADMIN_TOKEN)

    def project_create(self, *, title: str, overlap: int) -> int:
        client = self.admin()
        try:
            project = client.json(
                "POST",
                "/api/projects/",
                {
                    "title": title,
                    "label_config": LABEL_CONFIG,
                    "maximum_annotations": overlap,
                    "show_skip_button": False,
                },
            )
        finally:
            client.close()
        return int(project["id"])

    def import_file(self, project_id: int, path: Path) -> dict[str, Any]:
        """POST the file to its import API; it imports in the request (its Community edition)."""
        chunks, length, content_type = multipart(path, "file")
        client = self.admin()
        try:
            response = client.open(
                "POST",
                f"/api/projects/{project_id}/import?commit_to_project=true",
                body=chunks,
                headers={"Content-Type": content_type, "Content-Length": str(length)},
            )
            data = response.read()
        finally:
            client.close()
        if response.status != 201:
            raise ApiError(f"import: HTTP {response.status}: {data[:500]!r}")
        return json.loads(data)

    def export(self, project_id: int, limit: float | None = None) -> tuple[int, int] | None:
        """Its JSON export of all tasks with their annotations, read to the end: (bytes, tasks);
        None when it has not ended `limit` seconds after the request was sent (no limit: wait
        to the end). Its export is built in the request, so the server goes on building it:
        `restart` the server then."""
        query = urlencode({"exportType": "JSON", "download_all_tasks": "true"})
        deadline = None if limit is None else time.monotonic() + limit
        client = Client(self.servers[0].port, ADMIN_TOKEN, timeout=limit)
        size = 0
        try:
            response = client.open("GET", f"/api/projects/{project_id}/export?{query}")
            if response.status != 200:
                raise ApiError(f"export: HTTP {response.status}: {response.read()[:300]!r}")
            while True:
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    client.connection.sock.settimeout(left)
                block = response.read(1 << 20)
                if not block:
                    break
                size += len(block)
        except TimeoutError:
            return None
        finally:
            client.close()
        return size, self.count_tasks(project_id)

    # Its own database ---------------------------------------------------------------------------

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.database == "postgresql":
            import psycopg

            with psycopg.connect(dbname=self.db_name, autocommit=True, **POSTGRES) as connection:
                return connection.execute(sql.replace("?", "%s"), params).fetchall()
        with contextlib.closing(
            sqlite3.connect(self.data_dir / "label_studio.sqlite3", timeout=60)
        ) as db:
            return db.execute(sql, params).fetchall()

    def fill(self, project_id: int, people: list[int], per_task: int = 3) -> int:
        """Give every task of the project `per_task` annotations by SQL, as its importer of
        annotated tasks writes them (`TaskSerializerBulk.add_annotations` and `add_tasks`:
        ground truth, not cancelled, the task counted and labelled), but without a multi-GB
        upload; our side of the export is filled by SQL too (bench/export.py `fill`). A task's
        annotators and choices are those of `bench/peers.py` `peer_files`. Returns the count."""
        assert self.database == "postgresql", "filled by SQL on PostgreSQL only"
        import psycopg

        params = {
            "project": project_id,
            "people": people,
            "count": len(people),
            "per_task": per_task,
            "a": json.dumps(choice_result("A")),
            "b": json.dumps(choice_result("B")),
        }
        with psycopg.connect(dbname=self.db_name, **POSTGRES) as connection:
            with connection.transaction():
                made = connection.execute(FILL_SQL, params).rowcount
                connection.execute(
                    "UPDATE task SET total_annotations = %(per_task)s, cancelled_annotations = 0, "
                    "is_labeled = overlap <= %(per_task)s, updated_at = now() "
                    "WHERE project_id = %(project)s",
                    params,
                )
            connection.autocommit = True
            connection.execute("VACUUM (ANALYZE) task, task_completion")
        return made

    def count_tasks(self, project_id: int) -> int:
        return self.query("SELECT count(*) FROM task WHERE project_id = ?", (project_id,))[0][0]

    def checks(self, project_id: int) -> dict[str, int]:
        """What the distribution left in its database: each should be 0 (reported as found)."""
        over = """
            SELECT count(*) FROM (
                SELECT t.id FROM task t JOIN task_completion c ON c.task_id = t.id
                JOIN project p ON p.id = t.project_id
                WHERE t.project_id = ? AND NOT c.was_cancelled
                GROUP BY t.id, p.maximum_annotations
                HAVING count(*) > p.maximum_annotations) AS over"""
        repeated = """
            SELECT count(*) FROM (
                SELECT 1 FROM task_completion c JOIN task t ON t.id = c.task_id
                WHERE t.project_id = ?
                GROUP BY c.task_id, c.completed_by_id HAVING count(*) > 1) AS repeated"""
        annotations = """
            SELECT count(*) FROM task_completion c JOIN task t ON t.id = c.task_id
            WHERE t.project_id = ?"""
        return {
            "repeated (task, annotator) pairs": self.query(repeated, (project_id,))[0][0],
            "tasks past maximum annotations": self.query(over, (project_id,))[0][0],
            "annotations": self.query(annotations, (project_id,))[0][0],
        }


class Worker:
    """One simulated annotator: GET next task, then POST an annotation to it."""

    def __init__(self, *, port: int, project_id: int, token: str) -> None:
        self.client = Client(port, token, timeout=600)
        self.next_path = f"/api/projects/{project_id}/next/"
        self.project_id = project_id
        self.count = 0

    def cycle(self) -> float:
        started = time.perf_counter()
        task = self.client.json("GET", self.next_path)
        next_seconds = time.perf_counter() - started
        self.count += 1
        self.client.json(
            "POST",
            f"/api/tasks/{task['id']}/annotations/?project={self.project_id}",
            {
                "result": choice_result("A" if self.count % 4 else "B"),
                "lead_time": 1.0,
                "project": self.project_id,
            },
            expect=(201,),
        )
        return next_seconds

    def close(self) -> None:
        self.client.close()
