"""Running a task's code, or a person's fix, against the task's tests in the sandbox."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from common.errors import InvalidInput
from common.jobs import JobBusy, enqueue_on_commit, job_running
from common.sandbox import Outcome, SandboxLimits, sandbox_check, sandbox_python, sandbox_run
from contributors.models import User
from evaluations.errors import AssignmentClosed
from evaluations.models import Assignment, CodeRun
from evaluations.services.distribution import assignment_get_own_for_update

logger = logging.getLogger(__name__)
LIMITS = SandboxLimits(cpu_seconds=5, wall_seconds=10.0)
# -I leaves the script's folder off the import path; the tests import `solution` from it.
RUNNER = """
import runpy, sys
sys.path.insert(0, "/sandbox")
runpy.run_path("/sandbox/tests.py", run_name="__main__")
"""
CODE_LIMIT = 100_000


@transaction.atomic
def code_run_request(*, assignment_id: int, user: User, source: str, code: str = "") -> CodeRun:
    """Queue a run of a response's code (`source` = its id) or the person's own fix
    (`source` = "own", with `code`). The run is kept with the assignment and its submission."""
    from evaluations.tasks import code_run_execute_task

    assignment = assignment_get_own_for_update(assignment_id=assignment_id, user=user)
    if assignment.status not in (Assignment.Status.ACTIVE, Assignment.Status.SUBMITTED):
        raise AssignmentClosed("Runs are for tasks you are working on or submitted.")
    task = assignment.task
    if not task.tests.strip():
        raise InvalidInput("This task has no tests to run.", fields={"source": ["No tests."]})
    if source == "own":
        if not code.strip() or len(code) > CODE_LIMIT:
            raise InvalidInput(
                fields={"code": [f"Give the code to run (at most {CODE_LIMIT:,} characters)."]}
            )
        run_code = code
    elif source == "task":
        run_code = task.code
    else:
        found = next((r["text"] for r in task.responses if r["id"] == source), None)
        if found is None:
            raise InvalidInput(fields={"source": ["Not a response of this task."]})
        run_code = found
    run = CodeRun.objects.create(assignment=assignment, code=run_code, source=source)
    enqueue_on_commit(code_run_execute_task, run.pk)
    return run


def code_run_execute(*, run_id: int) -> CodeRun | None:
    """Run the code against the task's tests: `solution.py` is the code, `tests.py` the tests
    (they pass when it exits 0). Confined in common.sandbox, or not run at all. A delivery that
    comes while the run is at work elsewhere raises JobBusy, and its task retries later."""
    with job_running("code_run_execute", run_id) as mine:
        if not mine:
            raise JobBusy(f"code_run_execute {run_id} is running in another worker.")
        return _code_run_execute(run_id)


def _code_run_execute(run_id: int) -> CodeRun | None:
    run = CodeRun.objects.select_related("assignment__task").filter(pk=run_id).first()
    if run is None or run.status == CodeRun.Status.DONE:
        return run
    available, why = sandbox_check()
    if available:
        result = sandbox_run(
            command=[sandbox_python(), "-I", "-S", "run_tests.py"],
            files={
                "solution.py": run.code,
                "tests.py": run.assignment.task.tests,
                "run_tests.py": RUNNER,
            },
            limits=LIMITS,
        )
        passed = result.outcome == Outcome.OK
        outcome = result.as_dict()
    else:
        passed = None
        outcome = {"outcome": "unavailable", "reason": why}
    CodeRun.objects.filter(pk=run.pk, status=CodeRun.Status.QUEUED).update(
        status=CodeRun.Status.DONE, passed=passed, result=outcome, finished_at=timezone.now()
    )
    run.refresh_from_db()
    logger.info("code_run.finished", extra={"run_id": run.pk, "passed": passed})
    return run
