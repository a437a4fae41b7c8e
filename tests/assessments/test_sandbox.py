"""The code sandbox against hostile programs: each is stopped, its reason recorded, and nothing
of it survives the run. The same programs then go through the real Celery worker as answers."""

import json
import os
import time

import pytest

from assessments.models import AttemptItem
from assessments.tasks import item_code_score_task
from common.sandbox import (
    Outcome,
    SandboxLimits,
    sandbox_check,
    sandbox_leftovers,
    sandbox_python,
    sandbox_run,
)
from tests.assessments.helpers import GOOD_SUM_EVEN, code_item_awaiting_sandbox, load_tiny
from tests.contributors.factories import ContributorFactory

pytestmark = pytest.mark.sandbox

LIMITS = SandboxLimits(cpu_seconds=2, wall_seconds=4.0)

HOSTILE = {
    "endless_loop": "while True:\n    pass\n",
    "memory_bomb": "hog = bytearray(4 * 1024 ** 3)\n",
    "fork_bomb": (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    ),
    "network_call": "import socket\nsocket.create_connection(('127.0.0.1', 5432), timeout=2)\n",
    "write_outside": "open('/usr/escaped.txt', 'w').write('x')\n",
}


def run(source: str) -> object:
    return sandbox_run(
        command=[sandbox_python(), "-I", "-S", "main.py"], files={"main.py": source}, limits=LIMITS
    )


def test_the_confinement_self_check_passes_here() -> None:
    assert sandbox_check() == (True, "")


def test_an_endless_loop_is_stopped_at_the_cpu_limit() -> None:
    result = run(HOSTILE["endless_loop"])
    assert result.outcome == Outcome.CPU_LIMIT
    assert result.duration_seconds < LIMITS.wall_seconds


def test_a_memory_bomb_is_refused_its_memory() -> None:
    result = run(HOSTILE["memory_bomb"])
    assert result.outcome == Outcome.MEMORY_LIMIT
    assert "MemoryError" in result.stderr


def test_a_fork_bomb_is_capped_and_killed_with_every_child() -> None:
    result = run(HOSTILE["fork_bomb"])
    assert result.outcome in {Outcome.TIMEOUT, Outcome.CPU_LIMIT}
    assert sandbox_leftovers() == 0  # every child was killed and reaped before the run returned
    assert run("print('still working')").stdout.strip() == "still working"


def test_there_is_no_network() -> None:
    result = run(HOSTILE["network_call"])
    assert result.outcome == Outcome.ERROR
    assert "Network is unreachable" in result.stderr or "Connection refused" in result.stderr


def test_writing_outside_the_work_folder_fails() -> None:
    result = run(HOSTILE["write_outside"])
    assert result.outcome == Outcome.ERROR
    assert "Read-only file system" in result.stderr
    assert not os.path.exists("/usr/escaped.txt")


def test_output_is_capped() -> None:
    result = run("import sys\nsys.stdout.write('x' * (4 * 1024 * 1024))\n")
    assert len(result.stdout) <= LIMITS.output_bytes
    assert result.outcome in {Outcome.OUTPUT_LIMIT, Outcome.ERROR}


def test_the_environment_and_host_files_are_out_of_sight() -> None:
    probe = (
        "import json, os\n"
        "print(json.dumps({'env': sorted(os.environ), 'etc': os.path.exists('/etc/passwd'),"
        " 'home': os.path.exists('/root'), 'pids': [p for p in os.listdir('/proc') if p.isdigit()],"
        " 'uid': os.getuid()}))\n"
    )
    found = json.loads(run(probe).stdout)
    assert not {"DATABASE_URL", "DJANGO_SECRET_KEY", "CELERY_BROKER_URL"} & set(found["env"])
    assert (found["etc"], found["home"]) == (False, False)
    assert len(found["pids"]) <= 3  # only the sandbox's own processes
    assert found["uid"] != 0


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_hostile_answers_score_zero_through_the_real_worker_and_it_goes_on(celery_worker) -> None:
    load_tiny()
    items = {
        name: code_item_awaiting_sandbox(ContributorFactory(status="assessing"), source)
        for name, source in HOSTILE.items()
    }
    good = code_item_awaiting_sandbox(ContributorFactory(status="assessing"), GOOD_SUM_EVEN)
    for item in [*items.values(), good]:
        item_code_score_task.delay(item.pk)

    deadline = time.monotonic() + 120
    pending = {item.pk for item in [*items.values(), good]}
    while pending and time.monotonic() < deadline:
        time.sleep(0.5)
        pending = set(
            AttemptItem.objects.filter(pk__in=pending)
            .exclude(status="scored")
            .values_list("pk", flat=True)
        )
    assert not pending, celery_worker.log()[-3000:]

    for name, item in items.items():
        item.refresh_from_db()
        assert item.score == 0, name
        assert item.scoring["code"]["passed"] == 0, name
        assert item.scoring["code"]["reason"], name
    good.refresh_from_db()
    assert (good.score, good.scoring["code"]["reason"]) == (10, "4 of 4 hidden tests passed.")
    assert celery_worker.process.poll() is None  # the worker is still running
