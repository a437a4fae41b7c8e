"""Handing out tasks: overlap by distinct people, never twice, priority then age, leases, caps."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone

from common.errors import InvalidInput
from evaluations.errors import (
    AssignmentClosed,
    CapReached,
    LeaseExpired,
    NoTaskAvailable,
    NotWorking,
)
from evaluations.models import Assignment, Submission, Task
from evaluations.services import (
    assignment_next,
    assignment_release,
    assignment_skip,
    assignments_expire,
    settings_set,
    submission_submit,
    tasks_import,
)
from tests.evaluations.helpers import good_answers, jsonl, project_with_tasks, task_line, worker
from tests.marketplace.helpers import qualified, staff

pytestmark = pytest.mark.django_db


def test_priority_first_then_oldest() -> None:
    project = project_with_tasks(0)
    tasks_import(
        project_id=project.pk,
        handle=jsonl(
            [task_line(1), task_line(2, priority=9), task_line(3), task_line(4, priority=9)]
        ),
        fmt="jsonl",
    )
    person = worker(project)
    order = []
    for _ in range(4):
        assignment = assignment_next(project_id=project.pk, user=person)
        order.append(assignment.task.external_id)
        submission_submit(
            assignment_id=assignment.pk, user=person, answers=good_answers(assignment.task)
        )
    assert order == ["t2", "t4", "t1", "t3"]


def test_next_returns_the_task_one_is_already_on() -> None:
    project = project_with_tasks(3)
    person = worker(project)
    first = assignment_next(project_id=project.pk, user=person)
    assert assignment_next(project_id=project.pk, user=person).pk == first.pk


def test_each_task_goes_to_overlap_distinct_people_and_no_further() -> None:
    project = project_with_tasks(1, overlap=2)
    people = [worker(project) for _ in range(3)]
    for person in people[:2]:
        assignment = assignment_next(project_id=project.pk, user=person)
        submission_submit(
            assignment_id=assignment.pk, user=person, answers=good_answers(assignment.task)
        )
    with pytest.raises(NoTaskAvailable):
        assignment_next(project_id=project.pk, user=people[2])
    task = Task.objects.get()
    assert (task.filled, task.completed) == (2, 2)


def test_nobody_gets_a_task_twice_even_after_skipping_it() -> None:
    project = project_with_tasks(1, overlap=3)
    person = worker(project)
    assignment = assignment_next(project_id=project.pk, user=person)
    assignment_skip(assignment_id=assignment.pk, user=person, reason="Outside my expertise.")
    with pytest.raises(NoTaskAvailable):
        assignment_next(project_id=project.pk, user=person)
    assert Task.objects.get().filled == 0  # the place went back to the pool for others


def test_a_skip_needs_a_reason() -> None:
    project = project_with_tasks(1)
    person = worker(project)
    assignment = assignment_next(project_id=project.pk, user=person)
    with pytest.raises(InvalidInput):
        assignment_skip(assignment_id=assignment.pk, user=person, reason=" ")


def test_releasing_gives_the_task_back_to_others() -> None:
    project = project_with_tasks(1)
    first, second = worker(project), worker(project)
    assignment = assignment_next(project_id=project.pk, user=first)
    assignment_release(assignment_id=assignment.pk, user=first)
    assert assignment_next(project_id=project.pk, user=second).task_id == assignment.task_id
    with pytest.raises(AssignmentClosed):
        assignment_release(assignment_id=assignment.pk, user=first)


def test_expired_leases_return_to_the_pool_and_cannot_be_submitted() -> None:
    project = project_with_tasks(1)
    first, second = worker(project), worker(project)
    assignment = assignment_next(project_id=project.pk, user=first)
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        with pytest.raises(LeaseExpired):
            submission_submit(
                assignment_id=assignment.pk, user=first, answers=good_answers(assignment.task)
            )
        assert assignments_expire() == 1
        assert assignments_expire() == 0
        assert assignment_next(project_id=project.pk, user=second).task_id == assignment.task_id
    assignment.refresh_from_db()
    assert assignment.status == "expired"
    assert not Submission.objects.exists()


def test_responses_are_shown_in_an_order_of_their_own_that_is_recorded() -> None:
    project = project_with_tasks(1, overlap=40)
    orders = {
        tuple(assignment_next(project_id=project.pk, user=worker(project)).response_order)
        for _ in range(20)
    }
    assert orders == {("a", "b"), ("b", "a")}


def test_only_members_take_tasks() -> None:
    project = project_with_tasks(1)
    with pytest.raises(NotWorking):
        assignment_next(project_id=project.pk, user=qualified("general"))


def test_the_daily_and_project_caps_hold() -> None:
    project = project_with_tasks(5)
    settings_set(project_id=project.pk, actor=staff(), daily_cap=2)
    person = worker(project)
    for _ in range(2):
        assignment = assignment_next(project_id=project.pk, user=person)
        submission_submit(
            assignment_id=assignment.pk, user=person, answers=good_answers(assignment.task)
        )
    with pytest.raises(CapReached, match="today's limit of 2"):
        assignment_next(project_id=project.pk, user=person)
    settings_set(project_id=project.pk, actor=staff(), daily_cap=None, project_cap=2)
    with pytest.raises(CapReached, match="limit of 2 tasks"):
        assignment_next(project_id=project.pk, user=person)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_people_claiming_and_submitting_at_once_keep_every_rule() -> None:
    project = project_with_tasks(30, overlap=3)
    people = [worker(project) for _ in range(16)]
    barrier = threading.Barrier(len(people))
    failures: list[BaseException] = []

    def work(person) -> None:
        try:
            barrier.wait()
            while True:
                try:
                    assignment = assignment_next(project_id=project.pk, user=person)
                except NoTaskAvailable:
                    return
                submission_submit(
                    assignment_id=assignment.pk, user=person, answers=good_answers(assignment.task)
                )
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert Submission.objects.count() == 90  # every task got exactly its overlap
    repeated = (
        Assignment.objects.values("task", "contributor").annotate(n=Count("pk")).filter(n__gt=1)
    )
    assert list(repeated) == []
    assert not Task.objects.filter(filled__gt=F("overlap")).exists()
    assert set(Task.objects.values_list("filled", "completed")) == {(3, 3)}
