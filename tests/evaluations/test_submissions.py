"""Submissions: checked against their form version, once per assignment, paid per task."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from common.errors import InvalidInput, NotFound
from evaluations.errors import ReviewStarted
from evaluations.models import Submission
from evaluations.services import (
    assignment_draft_save,
    assignment_next,
    form_set,
    submission_submit,
    submission_update,
    tasks_import,
)
from marketplace.models import EarningEntry
from tests.evaluations.helpers import (
    FORM,
    good_answers,
    jsonl,
    project_with_tasks,
    task_line,
    worker,
)
from tests.marketplace.helpers import staff

pytestmark = pytest.mark.django_db


def test_a_submission_records_answers_order_time_and_prelabel_use() -> None:
    project = project_with_tasks(0)
    tasks_import(
        project_id=project.pk,
        handle=jsonl(
            [
                task_line(
                    1, prelabels=[{"question": "better", "value": {"choice": "a", "strength": 2}}]
                )
            ]
        ),
        fmt="jsonl",
    )
    person = worker(project)
    assignment = assignment_next(project_id=project.pk, user=person)
    submission = submission_submit(
        assignment_id=assignment.pk, user=person, answers=good_answers(assignment.task)
    )
    assert submission.answers["better"] == {"choice": "a", "strength": 2}
    assert submission.prelabel_usage == {"better": "kept"}
    assert submission.response_order == assignment.response_order
    assert (submission.status, submission.form.version) == ("accepted", 1)


def test_bad_answers_are_each_named_and_nothing_is_saved() -> None:
    project = project_with_tasks(1)
    person = worker(project)
    assignment = assignment_next(project_id=project.pk, user=person)
    with pytest.raises(InvalidInput) as caught:
        submission_submit(
            assignment_id=assignment.pk,
            user=person,
            answers={
                "helpfulness": {"a": 0, "b": 8},
                "better": {"choice": "z"},
                "rationale": "short",
            },
        )
    assert sorted(caught.value.fields) == [
        "answers.better.choice",
        "answers.better.strength",
        "answers.helpfulness.a",
        "answers.helpfulness.b",
        "answers.rationale",
    ]
    assert not Submission.objects.exists()
    assignment.refresh_from_db()
    assert assignment.status == "active"


def test_a_double_submit_makes_one_submission() -> None:
    project = project_with_tasks(1)
    person = worker(project)
    assignment = assignment_next(project_id=project.pk, user=person)
    first = submission_submit(
        assignment_id=assignment.pk, user=person, answers=good_answers(assignment.task)
    )
    second = submission_submit(
        assignment_id=assignment.pk, user=person, answers=good_answers(assignment.task)
    )
    assert first.pk == second.pk
    assert Submission.objects.count() == 1


def test_someone_elses_task_cannot_be_submitted() -> None:
    project = project_with_tasks(1, overlap=2)
    owner, other = worker(project), worker(project)
    assignment = assignment_next(project_id=project.pk, user=owner)
    with pytest.raises(NotFound):
        submission_submit(
            assignment_id=assignment.pk, user=other, answers=good_answers(assignment.task)
        )


def test_a_per_task_project_pays_each_accepted_submission_once() -> None:
    project = project_with_tasks(1, pay_model="per_task", task_minutes=6, pay_rate=Decimal("30"))
    person = worker(project)
    assignment = assignment_next(project_id=project.pk, user=person)
    for _ in range(2):
        submission = submission_submit(
            assignment_id=assignment.pk, user=person, answers=good_answers(assignment.task)
        )
    entry = EarningEntry.objects.get(contributor=person)
    assert (entry.kind, entry.amount, entry.idempotency_key) == (
        "task",
        Decimal("3.00"),
        f"task:submission:{submission.pk}",
    )


def test_an_hourly_project_pays_time_not_tasks() -> None:
    project = project_with_tasks(1)
    person = worker(project)
    assignment = assignment_next(project_id=project.pk, user=person)
    submission_submit(
        assignment_id=assignment.pk, user=person, answers=good_answers(assignment.task)
    )
    assert not EarningEntry.objects.exists()


def test_drafts_autosave_and_count_active_time() -> None:
    project = project_with_tasks(1)
    person = worker(project)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assignment = assignment_next(project_id=project.pk, user=person)
    with time_machine.travel(start + timedelta(seconds=50), tick=False):
        assignment_draft_save(assignment_id=assignment.pk, user=person, draft={"rationale": "Half"})
    with time_machine.travel(start + timedelta(minutes=20), tick=False):  # a long pause: not work
        assignment_draft_save(
            assignment_id=assignment.pk, user=person, draft={"rationale": "Half done"}
        )
    with time_machine.travel(start + timedelta(minutes=21), tick=False):
        submission = submission_submit(
            assignment_id=assignment.pk, user=person, answers=good_answers(assignment.task)
        )
    assert submission.active_seconds == 110


def test_answers_can_change_until_review_starts() -> None:
    project = project_with_tasks(1)
    person = worker(project)
    assignment = assignment_next(project_id=project.pk, user=person)
    submission = submission_submit(
        assignment_id=assignment.pk, user=person, answers=good_answers(assignment.task)
    )
    changed = {
        **good_answers(assignment.task),
        "rationale": "On reflection the second is also fine.",
    }
    assert (
        submission_update(submission_id=submission.pk, user=person, answers=changed)
        .answers["rationale"]
        .startswith("On")
    )
    Submission.objects.filter(pk=submission.pk).update(review_started_at=timezone.now())
    with pytest.raises(ReviewStarted):
        submission_update(submission_id=submission.pk, user=person, answers=changed)


def test_a_form_change_after_use_is_a_new_version_and_old_work_keeps_its_own() -> None:
    project = project_with_tasks(2)
    person = worker(project)
    assignment = assignment_next(project_id=project.pk, user=person)
    submission = submission_submit(
        assignment_id=assignment.pk, user=person, answers=good_answers(assignment.task)
    )
    changed = {
        "questions": [
            *FORM["questions"],
            {"name": "topic", "type": "single_label", "prompt": "Topic?", "labels": ["a", "b"]},
        ]
    }
    new = form_set(project_id=project.pk, actor=staff(), schema=changed)
    assert new.version == 2
    submission.refresh_from_db()
    assert submission.form.version == 1
    assert assignment_next(project_id=project.pk, user=person).form.version == 2


def test_a_form_that_needs_more_responses_than_the_tasks_have_is_refused() -> None:
    from evaluations.errors import FormInvalidError

    project = project_with_tasks(
        0, form={"questions": [{"name": "t", "type": "free_text", "prompt": "Say"}]}
    )
    tasks_import(
        project_id=project.pk,
        handle=jsonl([{"prompt": "One answer only", "responses": ["x"]}]),
        fmt="jsonl",
    )
    with pytest.raises(FormInvalidError, match="at least 2 responses"):
        form_set(project_id=project.pk, actor=staff(), schema=FORM)
