"""Concurrency on PostgreSQL: real threads, each with its own database connection, racing the
services, and the rules checked in SQL afterwards. Each test reports its figure
(tests/figures.py).

- 200 claimers on one project (overlap 3) claim, submit, skip and release for
  CONCURRENCY_SECONDS: 10 by default, as CI runs it; `CONCURRENCY_SECONDS=60` gives the issue's
  full minute. Staff import more tasks whenever the open places run low. Nobody is handed a
  task twice, no task is filled past its overlap, and the task counters agree with the rows.
- 50 simultaneous Starter Assessment starts by one person make one attempt.
- 100 threads start a session for one person at the same moment, round after round. One session
  runs each time, and no two of that person's sessions overlap.
- Two finance admins approve one payout at the same moment: one approval counts and the other is
  refused. One admin double-clicking on a four-eyes payout gives one first approval.

PostgreSQL here allows 100 connections, shared with other processes, so the 200 claimers and
the 100 session starters go through a pool of CONCURRENCY_CONNECTIONS connections (40 by
default), as web workers behind a connection pooler do. That many claims, submits or starts are
in flight against the same rows at any moment. The 50 Starter starts each hold a connection of
their own.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction

from assessments.errors import AttemptInProgress, StarterAlreadyTaken
from assessments.models import Attempt, AttemptItem, ScoringEvent
from assessments.services import attempt_start
from contributors.models import Qualification, User
from evaluations.errors import NoTaskAvailable
from evaluations.models import Assignment, Submission, Task
from evaluations.services import (
    assignment_next,
    assignment_release,
    assignment_skip,
    quality_settings_set,
    submission_submit,
    tasks_import,
)
from marketplace import services as marketplace
from marketplace.errors import FourEyesRequired, PayoutStateConflict, SessionOverlap
from marketplace.models import Payout, PayoutAudit, WorkSession
from marketplace.services.payouts import batch_build, payout_approve, payout_settings_update
from tests.assessments.helpers import load_tiny
from tests.contributors.factories import ContributorFactory
from tests.evaluations.helpers import good_answers, jsonl, project_with_tasks, task_line, worker
from tests.figures import figure
from tests.marketplace.helpers import make_project, staff
from tests.marketplace.payout_helpers import closed_period, earn, earner, finance

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SECONDS = float(os.environ.get("CONCURRENCY_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("CONCURRENCY_CONNECTIONS", "40"))
CLAIMERS = 200
OVERLAP = 3
STARTERS = 50
SESSION_THREADS = 100
SESSION_ROUNDS = 5
PAYOUT_RACES = 10
BARRIER_TIMEOUT = 120  # seconds: a thread that never arrives breaks the barrier, not the run


def scalar(sql: str, *params: Any) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def run_threads(count: int, target: Callable[[int], None]) -> list[BaseException]:
    """Run `target(i)` in `count` threads, each closing its own connection; returns what they
    raised."""
    failures: list[BaseException] = []

    def body(index: int) -> None:
        try:
            target(index)
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


# -- 200 claimers --------------------------------------------------------------------------


def import_tasks(project_id: int, first: int, count: int) -> None:
    tasks_import(
        project_id=project_id,
        handle=jsonl([task_line(n) for n in range(first, first + count)]),
        fmt="jsonl",
    )


def open_places(project_id: int) -> int:
    return scalar(
        "SELECT COALESCE(SUM(overlap - filled), 0) FROM evaluations_task WHERE project_id = %s",
        project_id,
    )


def test_200_claimers_never_get_a_task_twice_nor_fill_one_past_its_overlap() -> None:
    manager = staff()
    project = project_with_tasks(0, overlap=OVERLAP, actor=manager, capacity=CLAIMERS)
    # Copies are not what this test is about; their check would compare every rationale.
    quality_settings_set(project_id=project.pk, actor=manager, duplicate_action="off")
    batch = 200
    import_tasks(project.pk, 0, batch * 2)
    imported = [batch * 2]
    with transaction.atomic():  # one commit, not one per row
        people = [worker(project) for _ in range(CLAIMERS)]

    pool = threading.BoundedSemaphore(CONNECTIONS)
    deadline = [0.0]
    began = [0.0]

    def go() -> None:  # run by the last thread to reach the start line, before any goes on
        began[0] = time.monotonic()
        deadline[0] = began[0] + SECONDS

    start = threading.Barrier(CLAIMERS + 1, action=go, timeout=BARRIER_TIMEOUT)
    tallies: list[Counter[str]] = [Counter() for _ in people]

    def claim_once(person: User, rng: random.Random, tally: Counter[str]) -> None:
        try:
            assignment = assignment_next(project_id=project.pk, user=person)
        except NoTaskAvailable:
            tally["empty"] += 1
            return
        tally["claims"] += 1
        roll = rng.random()
        if roll < 0.05:
            assignment_skip(assignment_id=assignment.pk, user=person, reason="Not my field.")
            tally["skips"] += 1
        elif roll < 0.10:
            assignment_release(assignment_id=assignment.pk, user=person)
            tally["releases"] += 1
        else:
            submission_submit(
                assignment_id=assignment.pk, user=person, answers=good_answers(assignment.task)
            )
            tally["submits"] += 1

    def stock() -> None:
        """Staff keep the pool stocked while people work."""
        while time.monotonic() < deadline[0]:
            with pool:
                try:
                    if open_places(project.pk) < batch * OVERLAP:
                        import_tasks(project.pk, imported[0], batch)
                        imported[0] += batch
                finally:
                    connection.close()
            time.sleep(0.2)

    def claimer(index: int) -> None:
        start.wait()
        if index == CLAIMERS:
            stock()
            return
        person, tally = people[index], tallies[index]
        rng = random.Random(index)  # noqa: S311  # which claims to skip or release, not secrets
        while time.monotonic() < deadline[0]:
            empty = tally["empty"]
            with pool:
                if time.monotonic() >= deadline[0]:
                    break  # time ran out while waiting for a connection
                try:
                    claim_once(person, rng, tally)
                finally:
                    connection.close()
            if tally["empty"] > empty:
                time.sleep(0.05)  # nothing left for this person: wait for the next import

    failures = run_threads(CLAIMERS + 1, claimer)
    elapsed = time.monotonic() - began[0]
    assert elapsed >= SECONDS

    assert failures == []
    total = sum(tallies, Counter())
    duplicates = scalar(
        """SELECT COUNT(*) FROM (
               SELECT task_id, contributor_id FROM evaluations_assignment
               WHERE project_id = %s GROUP BY task_id, contributor_id HAVING COUNT(*) > 1) d""",
        project.pk,
    )
    over_overlap = scalar(
        """SELECT COUNT(*) FROM evaluations_task t
           WHERE t.project_id = %s AND (
               t.filled > t.overlap
               OR (SELECT COUNT(*) FROM evaluations_assignment a
                   WHERE a.task_id = t.id AND a.status IN ('active', 'submitted')) > t.overlap
               OR (SELECT COUNT(*) FROM evaluations_submission s WHERE s.task_id = t.id)
                  > t.overlap)""",
        project.pk,
    )
    # The counters the claim relies on agree with the rows they count.
    drifted = scalar(
        """SELECT COUNT(*) FROM evaluations_task t
           WHERE t.project_id = %s AND (
               t.filled <> (SELECT COUNT(*) FROM evaluations_assignment a
                            WHERE a.task_id = t.id AND a.status IN ('active', 'submitted'))
               OR t.completed <> (SELECT COUNT(*) FROM evaluations_submission s
                                  WHERE s.task_id = t.id))""",
        project.pk,
    )
    still_active = Assignment.objects.filter(project=project, status="active").count()
    figure(
        "concurrency_claims",
        claimers=CLAIMERS,
        seconds=round(SECONDS),
        claims=total["claims"],
        submits=total["submits"],
        duplicates=duplicates,
        over_overlap=over_overlap,
        skips=total["skips"],
        releases=total["releases"],
        connections=CONNECTIONS,
        tasks=imported[0],
    )
    assert (duplicates, over_overlap, drifted, still_active) == (0, 0, 0, 0)
    assert Assignment.objects.filter(project=project).count() == total["claims"]
    assert Submission.objects.filter(project=project).count() == total["submits"]
    assert Task.objects.filter(project=project).count() == imported[0]
    assert total["submits"] > 0


# -- 50 Starter starts -----------------------------------------------------------------------


def test_50_simultaneous_starter_starts_by_one_person_make_one_attempt() -> None:
    load_tiny()
    person = ContributorFactory(status="assessing")
    gate = threading.Barrier(STARTERS, timeout=BARRIER_TIMEOUT)
    said: list[str] = []  # appends are atomic; a shared Counter's += is not

    def start(_index: int) -> None:
        gate.wait()
        try:
            attempt_start(user=person, slug="starter")
            said.append("started")
        except (StarterAlreadyTaken, AttemptInProgress) as error:
            said.append(error.code)

    assert run_threads(STARTERS, start) == []
    outcomes = Counter(said)
    attempts = scalar("SELECT COUNT(*) FROM assessments_attempt WHERE user_id = %s", person.pk)
    figure("concurrency_starter", starts=STARTERS, attempts=attempts)
    assert attempts == 1
    assert outcomes["started"] == 1
    assert sum(outcomes.values()) == STARTERS
    attempt = Attempt.objects.get(user=person)
    # Nothing of a refused start was left behind: the one attempt's questions and start only.
    assert AttemptItem.objects.filter(attempt__user=person).count() == attempt.items.count() > 0
    assert ScoringEvent.objects.filter(attempt__user=person, kind="started").count() == 1


# -- 100 overlapping sessions ----------------------------------------------------------------


def test_100_simultaneous_session_starts_leave_one_running_and_no_overlap() -> None:
    manager = staff()
    projects = [make_project(actor=manager, title=f"Hours {n}") for n in range(3)]
    person = ContributorFactory(status="active")
    Qualification.objects.create(user=person, code="general", source="test")
    for project in projects:
        marketplace.membership_join(project_id=project.pk, user=person)

    running: list[int] = []

    def count_running() -> None:
        running.append(
            scalar(
                "SELECT COUNT(*) FROM marketplace_worksession "
                "WHERE user_id = %s AND ended_at IS NULL",
                person.pk,
            )
        )
        connection.close()

    pool = threading.BoundedSemaphore(CONNECTIONS)

    started = threading.Barrier(SESSION_THREADS, timeout=BARRIER_TIMEOUT)
    counted = threading.Barrier(SESSION_THREADS, action=count_running, timeout=BARRIER_TIMEOUT)
    stopped = threading.Barrier(SESSION_THREADS, timeout=BARRIER_TIMEOUT)
    said: list[str] = []

    def starter(index: int) -> None:
        try:
            for _round in range(SESSION_ROUNDS):
                started.wait()
                session = None
                with pool:
                    try:
                        session = marketplace.session_start(
                            user=person, project_id=projects[index % len(projects)].pk
                        )
                        said.append("started")
                    except SessionOverlap:
                        said.append("refused")
                    finally:
                        connection.close()
                counted.wait()
                if session is not None:
                    marketplace.session_stop(session_id=session.pk, user=person)
                    connection.close()
                stopped.wait()
        except BaseException:
            for gate in (started, counted, stopped):
                gate.abort()
            raise

    assert run_threads(SESSION_THREADS, starter) == []
    outcomes = Counter(said)
    overlaps = scalar(
        """SELECT COUNT(*) FROM marketplace_worksession a
           JOIN marketplace_worksession b ON a.user_id = b.user_id AND a.id < b.id
           WHERE a.user_id = %s
             AND tstzrange(a.started_at, COALESCE(a.ended_at, 'infinity'))
              && tstzrange(b.started_at, COALESCE(b.ended_at, 'infinity'))""",
        person.pk,
    )
    figure(
        "concurrency_sessions",
        sessions=SESSION_THREADS,
        running=max(running),
        overlaps=overlaps,
        rounds=SESSION_ROUNDS,
        started=outcomes["started"],
    )
    assert running == [1] * SESSION_ROUNDS
    assert overlaps == 0
    assert outcomes == {
        "started": SESSION_ROUNDS,
        "refused": (SESSION_THREADS - 1) * SESSION_ROUNDS,
    }
    assert WorkSession.objects.filter(user=person).count() == SESSION_ROUNDS
    assert not WorkSession.objects.filter(user=person, ended_at__isnull=True).exists()


# -- two admins, one payout ------------------------------------------------------------------


def race(admins: list[User], payout: Payout) -> Counter[str]:
    gate = threading.Barrier(len(admins), timeout=BARRIER_TIMEOUT)
    said: list[str] = []

    def approve(index: int) -> None:
        gate.wait()
        try:
            payout_approve(payout_id=payout.pk, actor=admins[index])
            said.append("approved")
        except (PayoutStateConflict, FourEyesRequired) as error:
            said.append(error.code)

    assert run_threads(len(admins), approve) == []
    return Counter(said)


def approvals_of(payout: Payout) -> int:
    return scalar(
        "SELECT COUNT(*) FROM marketplace_payoutaudit WHERE payout_id = %s "
        "AND action IN ('approved', 'first_approval', 'second_approval')",
        payout.pk,
    )


def test_two_admins_approving_one_payout_at_once_approve_it_once() -> None:
    admins = [finance(), finance()]
    payout_settings_update(actor=admins[0], four_eyes_amount=Decimal("500.00"))
    people = [earner() for _ in range(PAYOUT_RACES)]
    for person in people:
        earn(person, "40.00")
    big = earner()
    earn(big, "900.00")
    batch = batch_build(period_id=closed_period().pk, actor=admins[0])
    payouts = list(Payout.objects.filter(batch=batch, needs_two=False).order_by("pk"))
    assert len(payouts) == PAYOUT_RACES

    results = [race(admins, payout) for payout in payouts]
    approvals = [approvals_of(payout) for payout in payouts]
    refused = [result["payout_state"] for result in results]
    figure(
        "concurrency_payout_approval",
        admins=len(admins),
        approvals=max(approvals),
        refused=min(refused),
        payouts=PAYOUT_RACES,
    )
    assert approvals == [1] * PAYOUT_RACES
    assert results == [Counter({"approved": 1, "payout_state": 1})] * PAYOUT_RACES
    states = Payout.objects.filter(pk__in=[p.pk for p in payouts])
    assert set(states.values_list("state", flat=True)) == {"approved"}
    assert all(p.approved_by_id in {a.pk for a in admins} for p in states)

    # One admin's double click on a four-eyes payout gives one first approval, not both.
    four_eyes = Payout.objects.get(batch=batch, contributor=big)
    assert four_eyes.needs_two
    double = race([admins[0], admins[0]], four_eyes)
    four_eyes.refresh_from_db()
    assert double == Counter({"approved": 1, "four_eyes_required": 1})
    assert (four_eyes.state, four_eyes.first_approved_by_id) == ("awaiting_second", admins[0].pk)
    assert approvals_of(four_eyes) == 1
    assert PayoutAudit.objects.filter(payout=four_eyes, action="first_approval").count() == 1
