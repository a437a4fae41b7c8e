"""The code sandbox against its corpus of hostile programs (tests/sandbox_corpus/).

Each attack runs through `sandbox_run`, the entry point the code runners use, and must be
confined (no escape, as each attack defines it and as the host-side checks see it), leave no
process behind, report the right failure, and leave the runner working. A selection then goes
as code answers through the real Celery worker, which must score them 0 and go on; a worker
whose sandbox confines nothing must refuse the jobs, and the answers wait for people.

Short by default, as in CI: every attack once, with the smallest limits that still prove the
point. `SANDBOX_CORPUS=full`: the code runner's own limits, every attack three times, and every
attack through the real worker; `python3 dev.py bench sandbox_corpus` runs that and writes the
figures into bench/README.md.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

from assessments import code_runner
from assessments.models import AttemptItem, GradingTask, ScoringEvent
from assessments.tasks import item_code_score_task
from common.sandbox import (
    MiB,
    Outcome,
    SandboxLimits,
    sandbox_leftovers,
    sandbox_python,
    sandbox_run,
)
from config.celery import app as celery_app
from tests.assessments.helpers import GOOD_SUM_EVEN, code_item_awaiting_sandbox, load_tiny
from tests.celery_worker import ROOT, WorkerProcess, _database_url
from tests.contributors.factories import ContributorFactory
from tests.figures import figure
from tests.sandbox_corpus import ATTACKS, Attack, render

pytestmark = pytest.mark.sandbox

FULL = os.environ.get("SANDBOX_CORPUS") == "full"
SHORT_LIMITS = SandboxLimits(
    cpu_seconds=1,
    wall_seconds=10.0,  # room for 2 CPU seconds (the hard limit) on a busy 2-core machine
    memory_bytes=128 * MiB,
    file_bytes=256 * 1024,
    processes=16,
    open_files=32,
    output_bytes=16 * 1024,
    disk_bytes=2 * MiB,
)
LIMITS = code_runner.LIMITS if FULL else SHORT_LIMITS
REPEATS = 3 if FULL else 1
GRACE = 3.0  # seconds past the wall-clock limit for the runner's kill and clean-up
SECRET_NAME = "EVALMARKET_CORPUS_SECRET"
# Quick attacks that, through the worker, cover daemons, signals, crashes, unstorable output,
# secrets and the network; the full corpus sends every attack.
WORKER_SHORT = (
    "double_fork_daemon",
    "kill_everything",
    "segfault",
    "nul_and_garbage_output",
    "environment_secrets",
    "host_listeners",
)
HOST_PLACES = ("/", "/tmp", "/var/tmp", "/usr", "/usr/lib", "/usr/bin", "/etc", "/dev/shm")  # noqa: S108
TALLY: Counter[str] = Counter()


@dataclass
class Host:
    """What the attacks aim at from inside: a canary, listeners, a planted secret."""

    canary_dir: Path
    canary_text: str
    secret: str
    tcp: socket.socket
    udp: socket.socket
    abstract: socket.socket
    abstract_name: str
    ip: str

    @property
    def canary_file(self) -> Path:
        return self.canary_dir / "canary.txt"

    def values(self, marker: str, limits: SandboxLimits, runner_pid: int) -> dict[str, object]:
        return {
            "MARKER": marker,
            "PORT": self.tcp.getsockname()[1],
            "UDP_PORT": self.udp.getsockname()[1],
            "ABSTRACT": self.abstract_name,
            "HOST_IP": self.ip,
            "HOST_PID": runner_pid,
            "CANARY_DIR": self.canary_dir,
            "CANARY_FILE": self.canary_file,
            "ROOT": ROOT,
            "SECRET_NAME": SECRET_NAME,
            "MEMORY_BYTES": limits.memory_bytes,
            "FILE_BYTES": limits.file_bytes,
            "DISK_BYTES": limits.disk_bytes,
            "PROCESSES": limits.processes,
            "OPEN_FILES": limits.open_files,
        }

    def secrets(self) -> list[str]:
        found = [self.secret, self.canary_text, settings.SECRET_KEY]
        return found + [os.environ[name] for name in ("DATABASE_URL",) if os.environ.get(name)]

    def heard(self) -> list[str]:
        """Connections and packets that reached the host's listeners since the last look."""
        heard = []
        for listener in (self.tcp, self.abstract):
            try:
                connection, peer = listener.accept()
            except BlockingIOError:
                continue
            connection.close()
            heard.append(f"a connection to {listener.getsockname()!r} from {peer!r}")
        try:
            data, peer = self.udp.recvfrom(4096)
            heard.append(f"a UDP packet {data[:40]!r} from {peer!r}")
        except BlockingIOError:
            pass
        return heard

    def escapes(self, texts: list[str], marker: str) -> list[str]:
        """Every sign, seen from the host, that a run got out."""
        found = [line for text in texts for line in text.splitlines() if "ESCAPED" in line]
        found += [f"a secret in the output: {s[:12]}…" for s in self.secrets() if _in(s, texts)]
        found += self.heard()
        if sorted(os.listdir(self.canary_dir)) != ["canary.txt"]:
            found.append(f"the canary folder changed: {os.listdir(self.canary_dir)}")
        elif self.canary_file.read_text() != self.canary_text:
            found.append("the canary file changed")
        found += [f"a host file: {path}" for path in host_files_with(marker)]
        return found


def _in(secret: str, texts: list[str]) -> bool:
    return any(secret in text for text in texts)


def host_files_with(marker: str) -> list[str]:
    return [str(path) for place in HOST_PLACES for path in Path(place).glob(f"*{marker}*")]


def processes_with(marker: str) -> list[int]:
    """Live processes with `marker` in their command line or environment (root sees all)."""
    needle = marker.encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                command = handle.read()
            with open(f"/proc/{entry.name}/environ", "rb") as handle:
                environment = handle.read()
        except OSError:
            continue
        if needle in command or needle in environment:
            found.append(int(entry.name))
    return found


def host_ip() -> str:
    """This machine's address on its default route (no packet is sent), or loopback."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))
        return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    canary_dir = Path(tempfile.mkdtemp(prefix="evalmarket-corpus-canary-"))
    canary_dir.chmod(0o755)  # readable by anyone on the host, the sandbox users included
    canary_text = f"canary-{uuid.uuid4().hex}"
    (canary_dir / "canary.txt").write_text(canary_text)
    (canary_dir / "canary.txt").chmod(0o644)
    tcp = socket.create_server(("0.0.0.0", 0))  # noqa: S104 - every address, to hear any try
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", 0))  # noqa: S104
    abstract_name = f"evalmarket-corpus-{uuid.uuid4().hex}"
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind("\0" + abstract_name)
    abstract.listen()
    for listener in (tcp, udp, abstract):
        listener.setblocking(False)
    with pytest.MonkeyPatch.context() as patch:
        secret = f"secret-{uuid.uuid4().hex}"
        patch.setenv(SECRET_NAME, secret)  # the worker's environment holds it: never the sandbox
        yield Host(canary_dir, canary_text, secret, tcp, udp, abstract, abstract_name, host_ip())
    for listener in (tcp, udp, abstract):
        listener.close()
    (canary_dir / "canary.txt").unlink()
    canary_dir.rmdir()


@pytest.fixture(scope="session", autouse=True)
def corpus_figure() -> Iterator[None]:
    """Report the figure once, at the end (pytest-django runs the worker tests first)."""
    yield
    figure(
        "sandbox_corpus",
        attacks=TALLY["attacks"],
        escaped=TALLY["escaped"],
        surviving=TALLY["surviving"],
        worker_crashes=TALLY["worker_crashes"],
        runs=TALLY["runs"],
        worker_answers=TALLY["worker_answers"],
        mode="full" if FULL else "short",
    )


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    escapes: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    surviving: list[int] = field(default_factory=list)
    slowest: float = 0.0
    log: list[str] = field(default_factory=list)


def run_attack(attack: Attack, host: Host, limits: SandboxLimits) -> Report:
    """Run the attack (runs x REPEATS), checking each run from the host; then a plain run."""
    report = Report()
    TALLY["attacks"] += 1
    for _ in range(REPEATS * attack.runs):
        marker = f"corpus-{uuid.uuid4().hex}"
        try:
            result = sandbox_run(
                # The marker in argv marks every process of the run, forks included.
                command=[sandbox_python(), "-I", "-S", "main.py", marker],
                files={"main.py": render(attack, host.values(marker, limits, os.getpid()))},
                limits=limits,
            )
        except Exception:
            TALLY["worker_crashes"] += 1
            raise
        TALLY["runs"] += 1
        texts = [result.stdout, result.stderr]
        report.outcomes.append(result.outcome)
        report.escapes += host.escapes(texts, marker)
        report.surviving += processes_with(marker)
        report.slowest = max(report.slowest, result.duration_seconds)
        report.faults += [
            f"{len(t)} characters of output" for t in texts if len(t) > limits.output_bytes
        ]
        report.faults += ["NUL in the output" for t in texts if "\x00" in t]
        report.log.append(f"{result.outcome} {result.exit_code} {result.stderr[-600:]!r}")
    health = sandbox_run(command=[sandbox_python(), "-I", "-S", "-c", "print('ok')"], files={})
    report.faults += [] if health.stdout == "ok\n" else [f"the next run failed: {health}"]
    TALLY["worker_crashes"] += health.stdout != "ok\n"
    TALLY["escaped"] += len(report.escapes)
    TALLY["surviving"] += len(report.surviving)
    return report


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda attack: attack.name)
def test_the_attack_is_confined_stopped_for_its_reason_and_leaves_nothing(attack, host) -> None:
    limits = LIMITS if FULL else dataclasses.replace(LIMITS, **attack.short)

    report = run_attack(attack, host, limits)

    assert report.escapes == []
    assert report.surviving == []
    assert set(report.outcomes) <= attack.expect, report.log
    assert report.slowest <= limits.wall_seconds + GRACE
    assert report.faults == []


def test_each_run_has_its_whole_process_limit_however_fast_runs_follow() -> None:
    # Each run leaves its bubblewrap a zombie until the host's init reaps it; in the run's user
    # id, that zombie would count toward the next run's process limit.
    limits = dataclasses.replace(SHORT_LIMITS, processes=4)  # bwrap, its init, python, a child
    forks = "import os\nif os.fork() == 0:\n    os._exit(0)\nos.wait()\nprint('forked')\n"

    results = [
        sandbox_run(command=[sandbox_python(), "-I", "-S", "-c", forks], files={}, limits=limits)
        for _ in range(10)
    ]

    assert [(result.outcome, result.stdout) for result in results] == [("ok", "forked\n")] * 10


def test_the_corpus_has_at_least_thirty_attacks_each_with_its_escape_and_detector() -> None:
    assert len({attack.name for attack in ATTACKS}) == len(ATTACKS) >= 30
    assert all(attack.escape and attack.detect and attack.expect for attack in ATTACKS)


QUESTION = {"function": "sum_even", "tests": [{"args": [[1, 2, 4]], "expected": 6}]}


def forged_report(payload: str) -> str:
    """A program that writes `payload` as the harness's report line (the nonce is its first
    argument) and leaves before the harness can write the real one."""
    return (
        "import os, sys\n"
        f"sys.stdout.write('\\n' + sys.argv[1] + {payload} + '\\n')\n"
        "sys.stdout.flush()\n"
        "os._exit(0)\n"
    )


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param("'[' * 60000", id="nested-past-the-recursion-limit"),
        pytest.param("'5'", id="a-number"),
        pytest.param("'\"results\"'", id="a-string"),
        pytest.param("'{\"results\": 5}'", id="results-not-a-list"),
        pytest.param("'{\"results\": [5]}'", id="a-result-not-an-object"),
    ],
)
def test_a_forged_report_scores_zero(payload: str) -> None:
    grade = code_runner.code_tests_run(question=QUESTION, code=forged_report(payload))
    assert (grade.passed, grade.total, grade.reason) == (
        0,
        1,
        "The code did not finish the tests.",
    )


def wait_until_settled(item_ids: set[int], seconds: float, status: str = "scored") -> set[int]:
    """Wait until every item has `status`; returns those that did not get there in time."""
    deadline = time.monotonic() + seconds
    pending = set(item_ids)
    while pending and time.monotonic() < deadline:
        time.sleep(0.5)
        pending = set(
            AttemptItem.objects.filter(pk__in=pending)
            .exclude(status=status)
            .values_list("pk", flat=True)
        )
    return pending


def stored_text(item: AttemptItem) -> str:
    events = ScoringEvent.objects.filter(item=item).values_list("detail", flat=True)
    return json.dumps([item.scoring, *events])


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_hostile_answers_through_the_real_worker_score_zero_and_it_goes_on(
    celery_worker: WorkerProcess, host: Host
) -> None:
    load_tiny()
    chosen = ATTACKS if FULL else [attack for attack in ATTACKS if attack.name in WORKER_SHORT]
    markers = {attack.name: f"corpus-{uuid.uuid4().hex}" for attack in chosen}
    pid = celery_worker.process.pid
    items = {
        attack.name: code_item_awaiting_sandbox(
            ContributorFactory(status="assessing"),
            render(attack, host.values(markers[attack.name], code_runner.LIMITS, pid)),
        )
        for attack in chosen
    }
    for item in items.values():
        item_code_score_task.delay(item.pk)

    budget = len(items) * (code_runner.LIMITS.wall_seconds + GRACE) + 30
    stuck = wait_until_settled({item.pk for item in items.values()}, budget)
    for item in items.values():
        item.refresh_from_db()
    escapes = [
        f"{name}: {escape}"
        for name, item in items.items()
        for escape in host.escapes([stored_text(item)], markers[name])
    ]
    surviving = [pid for marker in markers.values() for pid in processes_with(marker)]
    worker_lives = celery_worker.process.poll() is None
    TALLY["worker_answers"] += len(items)
    TALLY["escaped"] += len(escapes)
    TALLY["surviving"] += len(surviving) + sandbox_leftovers()
    TALLY["worker_crashes"] += len(stuck) + (not worker_lives)

    assert stuck == set(), celery_worker.log()[-3000:]
    assert worker_lives
    assert escapes == []
    assert surviving == []
    assert sandbox_leftovers() == 0
    assert {name: str(item.score) for name, item in items.items()} == dict.fromkeys(items, "0.00")
    assert all(item.scoring["code"]["reason"] for item in items.values())


# The worker's self-test: a bwrap that confines nothing (it runs the command as it is, in the
# run's folder) must make the worker refuse sandbox jobs at start.
FAKE_BWRAP = """#!/usr/bin/python3
import os, sys
args = sys.argv[1:]
command = args[args.index("--") + 1 :]
given = [args[at + 1] for at, arg in enumerate(args) if arg == "--ro-bind" and at + 2 < len(args)
         and args[at + 2].startswith("/sandbox/")]
os.chdir(os.path.dirname(given[0]))
os.execv(command[0], command)
"""


@pytest.fixture
def worker_without_confinement(django_db_setup: None) -> Iterator[tuple[WorkerProcess, str]]:
    """A real worker whose `bwrap` confines nothing, on a queue of its own."""
    folder = Path(tempfile.mkdtemp(prefix="evalmarket-corpus-fake-bwrap-"))
    folder.chmod(0o755)  # the sandbox user runs it
    fake = folder / "bwrap"
    fake.write_text(FAKE_BWRAP)
    fake.chmod(0o755)
    queue = f"corpus-{uuid.uuid4().hex[:8]}"
    name = f"{queue}@%h"
    log_path = folder / "worker.log"
    env = {
        **os.environ,
        "PATH": f"{folder}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_TEST_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "-n", name,
             "-c", "1", "--pool", "prefork", "-l", "INFO", "--without-gossip",
             "--without-mingle", "--without-heartbeat"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    worker = WorkerProcess(process, name.replace("%h", socket.gethostname()), folder, log_path)
    celery_app.conf.task_always_eager = False
    try:
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(destination=[worker.name], timeout=0.5):
            assert process.poll() is None, worker.log()
            assert time.monotonic() < deadline, worker.log()
        yield worker, queue
    finally:
        celery_app.conf.task_always_eager = True
        process.terminate()
        process.wait(timeout=20)
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_whose_sandbox_confines_nothing_sends_code_answers_to_people(
    worker_without_confinement: tuple[WorkerProcess, str],
) -> None:
    worker, queue = worker_without_confinement
    load_tiny()
    item = code_item_awaiting_sandbox(ContributorFactory(status="assessing"), GOOD_SUM_EVEN)

    item_code_score_task.apply_async((item.pk,), queue=queue)

    assert wait_until_settled({item.pk}, 60, status="awaiting_graders") == set(), worker.log()
    item.refresh_from_db()
    reason = item.scoring["code"]["reason"]
    assert reason.startswith("Graded by people: Sandbox confinement is missing: ")
    assert "host files (/etc) are visible" in reason
    assert GradingTask.objects.filter(item=item).count() == 2
    assert ScoringEvent.objects.filter(item=item, kind="sandbox_unavailable").count() == 1
    assert "sandbox.unavailable" in worker.log()
    assert worker.process.poll() is None
