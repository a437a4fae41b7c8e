"""The sweepers: rows whose job was lost (never sent in a broker outage, or gone with a killed
worker) get it sent again and finish on a real worker; rows that are recent, done or parked are
left alone; sweeping again sends nothing; a broker outage does not fail the request."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
import redis
from celery.exceptions import Reject
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from assessments.models import Attempt, AttemptItem, ScoringEvent
from assessments.services import attempt_start
from assessments.services.sweep import attempt_jobs_sweep
from assessments.tasks import attempt_score_task
from common.jobs import enqueue, enqueue_on_commit, job_stuck_seconds
from config.celery import app as celery_app
from evaluations.models import AggregationRun, CodeRun, ImportJob, Task
from evaluations.services import aggregation_request, assignment_next, import_job_create
from evaluations.services.sweep import evaluation_jobs_sweep
from marketplace.models import EarningEntry, Payout, PayoutAudit, WorkSession
from marketplace.services import session_start, session_stop
from marketplace.services.payouts import batch_build, payout_hold
from marketplace.services.sweep import marketplace_jobs_sweep
from tests.assessments.helpers import answer_all, load_tiny
from tests.celery_worker import WorkerProcess
from tests.conftest import api_for
from tests.contributors.factories import ContributorFactory, UserFactory
from tests.evaluations.helpers import jsonl, project_with_tasks, task_line, worker
from tests.figures import figure
from tests.marketplace.helpers import staff
from tests.security import fault_jobs

DEAD_BROKER = "redis://127.0.0.1:1/0"
STUCK = timedelta(seconds=settings.JOB_STUCK_SECONDS + 60)


@contextmanager
def broker_down() -> Iterator[None]:
    """Publish to a closed port, as when Redis is down: the app's producers are rebuilt."""
    saved = celery_app.conf.broker_url, celery_app.conf.broker_write_url
    eager = celery_app.conf.task_always_eager
    celery_app.conf.broker_url = celery_app.conf.broker_write_url = DEAD_BROKER
    celery_app.conf.task_always_eager = False
    celery_app._pool = celery_app.amqp._producer_pool = None
    try:
        yield
    finally:
        celery_app.conf.broker_url, celery_app.conf.broker_write_url = saved
        celery_app.conf.task_always_eager = eager
        celery_app._pool = celery_app.amqp._producer_pool = None


@pytest.fixture(autouse=True)
def _no_sweep_memory() -> Iterator[None]:
    """Forget the sweeps and deaths of earlier runs (ids repeat from one test database to the
    next); the test broker's Redis database is this suite's own."""

    def forget() -> None:
        cache.clear()  # where they are kept without a Redis broker
        if not settings.CELERY_BROKER_URL.startswith("redis"):
            return
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        keys = list(client.scan_iter("evalmarket:jobs:*"))
        if keys:
            client.delete(*keys)

    forget()
    yield
    forget()


def _sweep_all() -> dict[str, int]:
    return {**attempt_jobs_sweep(), **evaluation_jobs_sweep(), **marketplace_jobs_sweep()}


def _wait(check: Callable[[], bool], seconds: float = 90) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return False


def _submitted_attempt() -> Attempt:
    user = ContributorFactory(status="assessing")
    attempt = attempt_start(user=user, slug="starter")
    answer_all(attempt, user)
    return attempt


def _age_attempts(ids: list[int]) -> None:
    """Move the attempts' submission and scoring trail back past JOB_STUCK_SECONDS."""
    past = timezone.now() - STUCK
    Attempt.objects.filter(pk__in=ids).update(submitted_at=past)
    ScoringEvent.objects.filter(attempt_id__in=ids).update(created_at=past)


# Unit tests: which rows a sweep picks, on the test process (jobs sent to a dead broker or run
# in-process).


@pytest.mark.django_db
def test_enqueue_during_a_broker_outage_logs_and_returns_false(caplog) -> None:
    with broker_down(), caplog.at_level(logging.WARNING, logger="common.jobs"):
        sent = enqueue(attempt_score_task, 123)

    assert sent is False
    assert [record.getMessage() for record in caplog.records] == ["job.enqueue_failed"]


@pytest.mark.django_db
def test_enqueue_on_commit_in_an_outage_lets_the_transaction_commit(
    django_capture_on_commit_callbacks,
) -> None:
    load_tiny()
    attempt = _submitted_attempt()

    with broker_down(), django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue_on_commit(attempt_score_task, attempt.pk)

    assert len(callbacks) == 1
    assert AttemptItem.objects.filter(attempt=attempt, status="open").count() > 0


@pytest.mark.django_db
def test_submitting_through_the_api_in_a_broker_outage_succeeds_and_leaves_the_row_waiting(
    django_capture_on_commit_callbacks,
) -> None:
    load_tiny()
    attempt = _submitted_attempt()

    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        response = api_for(attempt.user).post(reverse("attempt-submit", args=[attempt.pk]))

    assert response.status_code == 200
    assert Attempt.objects.get(pk=attempt.pk).status == "submitted"
    assert AttemptItem.objects.filter(attempt=attempt).exclude(status="open").count() == 0


@pytest.mark.django_db
def test_recent_rows_are_left_alone(mocker) -> None:
    load_tiny()
    attempt = _submitted_attempt()
    Attempt.objects.filter(pk=attempt.pk).update(status="submitted", submitted_at=timezone.now())
    project = project_with_tasks(1)
    assignment = assignment_next(project_id=project.pk, user=worker(project))
    CodeRun.objects.create(assignment=assignment, code="print(1)", source="own")
    delay = mocker.patch("celery.app.task.Task.delay")

    sent = _sweep_all()

    assert set(sent.values()) == {0}
    delay.assert_not_called()


@pytest.mark.django_db
def test_done_rows_are_left_alone_however_old(mocker) -> None:
    project = project_with_tasks(1)
    assignment = assignment_next(project_id=project.pk, user=worker(project))
    long_ago = timezone.now() - STUCK
    CodeRun.objects.create(
        assignment=assignment, code="print(1)", source="own", status="done", created_at=long_ago
    )
    AggregationRun.objects.create(project=project, status="done", created_at=long_ago)
    delay = mocker.patch("celery.app.task.Task.delay")

    sent = _sweep_all()

    assert set(sent.values()) == {0}
    delay.assert_not_called()


@pytest.mark.django_db
def test_a_stuck_row_is_sent_again_once_until_its_wait_is_over(mocker) -> None:
    project = project_with_tasks(1)
    assignment = assignment_next(project_id=project.pk, user=worker(project))
    run = CodeRun.objects.create(
        assignment=assignment, code="print(1)", source="own", created_at=timezone.now() - STUCK
    )
    delay = mocker.patch("celery.app.task.Task.delay")

    first = evaluation_jobs_sweep()
    second = evaluation_jobs_sweep()

    assert first == {"code_run_execute": 1, "import_job_run": 0, "aggregation_run": 0}
    assert second == {"code_run_execute": 0, "import_job_run": 0, "aggregation_run": 0}
    delay.assert_called_once_with(run.pk)


@pytest.mark.django_db
def test_a_sweep_in_a_broker_outage_leaves_the_row_to_the_next_sweep(mocker) -> None:
    project = project_with_tasks(1)
    assignment = assignment_next(project_id=project.pk, user=worker(project))
    run = CodeRun.objects.create(
        assignment=assignment, code="print(1)", source="own", created_at=timezone.now() - STUCK
    )
    with broker_down():
        during = evaluation_jobs_sweep()
    delay = mocker.patch("celery.app.task.Task.delay")

    after = evaluation_jobs_sweep()

    assert during["code_run_execute"] == 0
    assert after["code_run_execute"] == 1
    delay.assert_called_once_with(run.pk)


@pytest.mark.django_db
def test_a_parked_job_is_not_sent_again(mocker) -> None:
    from evaluations.tasks import code_run_execute_task

    project = project_with_tasks(1)
    assignment = assignment_next(project_id=project.pk, user=worker(project))
    run = CodeRun.objects.create(
        assignment=assignment, code="print(1)", source="own", created_at=timezone.now() - STUCK
    )
    for _ in range(settings.JOB_MAX_DEATHS):  # runs that started and never came back
        code_run_execute_task.before_start("dead", [run.pk], {})
    with pytest.raises(Reject):
        code_run_execute_task.before_start("parked", [run.pk], {})
    delay = mocker.patch("celery.app.task.Task.delay")

    sent = evaluation_jobs_sweep()

    assert sent["code_run_execute"] == 0
    delay.assert_not_called()


@pytest.mark.django_db
def test_a_running_import_waits_as_long_as_its_task_may_run(mocker) -> None:
    from evaluations.tasks import import_job_run_task

    project = project_with_tasks(0)
    boss = staff()
    job = import_job_create(
        project_id=project.pk,
        actor=boss,
        upload=jsonl([task_line(1)]),
        name="tasks.jsonl",
        fmt="jsonl",
        skip_invalid=False,
    )
    started = timezone.now() - STUCK
    ImportJob.objects.filter(pk=job.pk).update(status="running", started_at=started)
    delay = mocker.patch("celery.app.task.Task.delay")

    sent = evaluation_jobs_sweep()

    assert job_stuck_seconds(import_job_run_task, running=True) > STUCK.total_seconds()
    assert sent["import_job_run"] == 0
    delay.assert_not_called()


@pytest.mark.django_db
def test_a_session_too_short_to_earn_is_not_swept(mocker) -> None:
    project = project_with_tasks(0)
    person = worker(project)
    session = session_start(user=person, project_id=project.pk)
    session_stop(session_id=session.pk, user=person)
    ended = timezone.now() - STUCK
    WorkSession.objects.filter(pk=session.pk).update(started_at=ended, ended_at=ended)
    delay = mocker.patch("celery.app.task.Task.delay")

    sent = marketplace_jobs_sweep()

    assert sent == {"earning_from_session": 0, "payout_notice_send": 0}
    delay.assert_not_called()


# Through a real worker on PostgreSQL: rows made while the broker was down, aged past the
# threshold, swept, and finished by the worker once; a second sweep sends nothing.


def _scoring_done(ids: list[int]) -> bool:
    return fault_jobs.scoring_check(ids)["lost"] == 0


@pytest.mark.postgres
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_attempts_submitted_in_an_outage_are_scored_after_a_sweep(
    celery_worker: WorkerProcess,
) -> None:
    load_tiny()
    attempts = [_submitted_attempt() for _ in range(3)]
    ids = [attempt.pk for attempt in attempts]
    with broker_down():
        statuses = [
            api_for(attempt.user).post(reverse("attempt-submit", args=[attempt.pk])).status_code
            for attempt in attempts
        ]
    time.sleep(2)
    stuck = fault_jobs.scoring_check(ids)["lost"]
    _age_attempts(ids)

    first = attempt_jobs_sweep()
    done = _wait(lambda: _scoring_done(ids))
    _age_attempts(ids)
    second = attempt_jobs_sweep()
    time.sleep(2)
    found = fault_jobs.scoring_check(ids)

    figure(
        "sweeper",
        kind="attempt_score",
        stuck=stuck,
        requeued=first["attempt_score"],
        requeued_again=second["attempt_score"],
        lost=found["lost"],
        duplicates=found["duplicates"],
    )
    assert statuses == [200, 200, 200]
    assert stuck == 3
    assert done, celery_worker.log()[-4000:]
    assert first["attempt_score"] == 3
    assert second["attempt_score"] == 0
    assert found == {"jobs": 3, "lost": 0, "duplicates": 0}


@pytest.mark.postgres
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_an_attempt_whose_decision_was_lost_is_decided_after_a_sweep(
    celery_worker: WorkerProcess,
) -> None:
    load_tiny()
    attempt = _submitted_attempt()
    AttemptItem.objects.filter(attempt=attempt).update(status="scored", score=Decimal(0))
    Attempt.objects.filter(pk=attempt.pk).update(status="submitted", submitted_at=timezone.now())
    _age_attempts([attempt.pk])

    first = attempt_jobs_sweep()
    decided = _wait(lambda: Attempt.objects.get(pk=attempt.pk).status == "decided")
    second = attempt_jobs_sweep()

    figure(
        "sweeper",
        kind="attempt_decide",
        stuck=1,
        requeued=first["attempt_decide"],
        requeued_again=second["attempt_decide"],
        lost=int(not decided),
    )
    assert decided, celery_worker.log()[-4000:]
    assert first == {"attempt_score": 0, "item_code_score": 0, "attempt_decide": 1}
    assert second == {"attempt_score": 0, "item_code_score": 0, "attempt_decide": 0}
    assert ScoringEvent.objects.filter(attempt=attempt, kind="decided").count() == 1


@pytest.mark.postgres
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_evaluation_jobs_queued_in_an_outage_finish_after_a_sweep(
    celery_worker: WorkerProcess,
) -> None:
    boss = staff()
    project = project_with_tasks(3, actor=boss)
    imported_into = project_with_tasks(0, actor=boss)
    assignment = assignment_next(project_id=project.pk, user=worker(project))
    with broker_down():
        run = CodeRun.objects.create(assignment=assignment, code="print(1)", source="own")
        job = import_job_create(
            project_id=imported_into.pk,
            actor=boss,
            upload=jsonl([task_line(n) for n in range(5)]),
            name="tasks.jsonl",
            fmt="jsonl",
            skip_invalid=False,
        )
        aggregation = aggregation_request(project_id=project.pk, actor=boss)
    time.sleep(2)
    stuck = (
        CodeRun.objects.filter(pk=run.pk, status="queued").count()
        + ImportJob.objects.filter(pk=job.pk, status="queued").count()
        + AggregationRun.objects.filter(pk=aggregation.pk, status="queued").count()
    )
    past = timezone.now() - STUCK
    for model in (CodeRun, ImportJob, AggregationRun):
        model.objects.update(created_at=past)

    first = evaluation_jobs_sweep()

    def finished() -> bool:
        return (
            CodeRun.objects.get(pk=run.pk).status == "done"
            and ImportJob.objects.get(pk=job.pk).status == "succeeded"
            and AggregationRun.objects.get(pk=aggregation.pk).status == "done"
        )

    done = _wait(finished)
    second = evaluation_jobs_sweep()
    time.sleep(2)
    imported = Task.objects.filter(project=imported_into).count()

    figure(
        "sweeper",
        kind="code_run+import+aggregation",
        stuck=stuck,
        requeued=sum(first.values()),
        requeued_again=sum(second.values()),
        lost=int(not done),
        imported=imported,
    )
    assert stuck == 3
    assert done, celery_worker.log()[-4000:]
    assert first == {"code_run_execute": 1, "import_job_run": 1, "aggregation_run": 1}
    assert second == {"code_run_execute": 0, "import_job_run": 0, "aggregation_run": 0}
    assert imported == 5
    assert AggregationRun.objects.filter(project=project).count() == 1


@pytest.mark.postgres
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_earnings_and_payout_notices_lost_in_an_outage_arrive_once_after_a_sweep(
    celery_worker: WorkerProcess,
) -> None:
    project = project_with_tasks(0)
    person = worker(project)
    periods = fault_jobs.payout_work(1, people=2)
    batch = batch_build(period_id=periods[0])
    payout = Payout.objects.filter(batch=batch).order_by("pk").first()
    admin = UserFactory(roles=("finance_admin",), is_staff=True)
    with broker_down():
        session = session_start(user=person, project_id=project.pk)
        session_stop(session_id=session.pk, user=person)
        payout_hold(payout_id=payout.pk, actor=admin, reason="Payout e-mail bounced")
    time.sleep(2)
    key = f"session:{session.pk}"
    stuck = int(not EarningEntry.objects.filter(idempotency_key=key).exists()) + int(
        not PayoutAudit.objects.filter(payout=payout, action="notice_held").exists()
    )
    past = timezone.now() - STUCK
    WorkSession.objects.filter(pk=session.pk).update(
        started_at=past - timedelta(hours=2), ended_at=past
    )
    Payout.objects.filter(pk=payout.pk).update(decided_at=past)

    first = marketplace_jobs_sweep()
    done = _wait(
        lambda: (
            EarningEntry.objects.filter(idempotency_key=key).exists()
            and PayoutAudit.objects.filter(payout=payout, action="notice_held").exists()
        )
    )
    second = marketplace_jobs_sweep()
    time.sleep(2)
    notices = PayoutAudit.objects.filter(payout=payout, action="notice_held").count()
    entries = EarningEntry.objects.filter(source_type="work_session", source_id=str(session.pk))
    mails = [
        mail
        for mail in celery_worker.mails()
        if "on hold" in mail and payout.contributor.email in mail
    ]

    figure(
        "sweeper",
        kind="earning+payout_notice",
        stuck=stuck,
        requeued=sum(first.values()),
        requeued_again=sum(second.values()),
        lost=int(not done),
        notices=notices,
        entries=entries.count(),
    )
    assert stuck == 2
    assert done, celery_worker.log()[-4000:]
    assert first == {"earning_from_session": 1, "payout_notice_send": 1}
    assert second == {"earning_from_session": 0, "payout_notice_send": 0}
    assert notices == 1
    assert list(entries.values_list("amount", flat=True)) == [Decimal("50.00")]
    assert len(mails) == 1


@pytest.mark.postgres
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_the_sweep_beat_jobs_run_on_the_worker(celery_worker: WorkerProcess) -> None:
    from assessments.tasks import attempt_jobs_sweep_task
    from evaluations.tasks import evaluation_jobs_sweep_task
    from marketplace.tasks import marketplace_jobs_sweep_task

    project = project_with_tasks(1)
    assignment = assignment_next(project_id=project.pk, user=worker(project))
    run = CodeRun.objects.create(
        assignment=assignment, code="print(1)", source="own", created_at=timezone.now() - STUCK
    )

    for task in (attempt_jobs_sweep_task, evaluation_jobs_sweep_task, marketplace_jobs_sweep_task):
        task.delay()
    done = _wait(lambda: CodeRun.objects.get(pk=run.pk).status == "done")

    assert done, celery_worker.log()[-4000:]
    assert "evaluations.jobs_swept" in celery_worker.log()


@pytest.mark.django_db
def test_an_import_left_running_by_a_dead_worker_imports_once_when_run_again() -> None:
    from evaluations.services import import_job_run

    project = project_with_tasks(0)
    job = import_job_create(
        project_id=project.pk,
        actor=staff(),
        upload=jsonl([task_line(n) for n in range(4)]),
        name="tasks.jsonl",
        fmt="jsonl",
        skip_invalid=False,
    )
    ImportJob.objects.filter(pk=job.pk).update(status="running", started_at=timezone.now() - STUCK)

    first = import_job_run(job_id=job.pk)
    second = import_job_run(job_id=job.pk)

    assert (first.status, first.imported) == ("succeeded", 4)
    assert (second.status, second.imported) == ("succeeded", 4)
    assert Task.objects.filter(project=project).count() == 4


@contextmanager
def _held_elsewhere(lock: str) -> Iterator[None]:
    """Another delivery at work on a job: its own connection holds the job's advisory lock."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [lock])
        yield
        # Let go before closing: a closed connection's locks go only once its backend exits.
        other.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [lock])


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_delivery_that_finds_its_job_at_work_elsewhere_retries_later(mocker) -> None:
    """A resend (by the sweeper or the broker) of a job another worker is running does not run
    it a second time alongside: it raises JobBusy, which its task retries later; once the other
    worker lets go (or dies, and its lock with its connection), the next delivery runs it."""
    from common.jobs import JobBusy
    from evaluations.services import aggregation as aggregation_services
    from evaluations.services import aggregation_run, code_run_execute
    from evaluations.tasks import aggregation_run_task, code_run_execute_task

    project = project_with_tasks(1)
    assignment = assignment_next(project_id=project.pk, user=worker(project))
    code = CodeRun.objects.create(assignment=assignment, code="print(1)", source="own")
    run = aggregation_request(project_id=project.pk, actor=staff())
    aggregate = mocker.spy(aggregation_services, "_aggregate")
    sandbox = mocker.patch(
        "evaluations.services.code_runs.sandbox_check", return_value=(False, "not here")
    )

    with (
        _held_elsewhere(f"aggregation_run:{run.pk}"),
        _held_elsewhere(f"code_run_execute:{code.pk}"),
    ):
        with pytest.raises(JobBusy):
            aggregation_run(run_id=run.pk)
        with pytest.raises(JobBusy):
            code_run_execute(run_id=code.pk)
    assert AggregationRun.objects.get(pk=run.pk).status == "queued"
    assert CodeRun.objects.get(pk=code.pk).status == "queued"
    assert aggregate.call_count == 0
    assert sandbox.call_count == 0
    assert aggregation_run_task.autoretry_for == code_run_execute_task.autoretry_for
    assert JobBusy in aggregation_run_task.autoretry_for

    assert aggregation_run(run_id=run.pk).status == "done"
    assert code_run_execute(run_id=code.pk).status == "done"
    assert (aggregate.call_count, sandbox.call_count) == (1, 1)
