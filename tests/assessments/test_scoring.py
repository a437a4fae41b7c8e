"""Scoring, human grading with adjudication, and decisions that grant qualifications."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError
from django.utils import timezone

from assessments.errors import GradingNotAllowed, GradingTaskClosed
from assessments.models import Attempt, GradingTask, ScoringEvent
from assessments.services import (
    attempt_decide,
    attempt_score,
    attempt_start,
    attempt_submit,
    grading_claims_release_expired,
    grading_task_claim_next,
    grading_task_submit,
    item_code_score,
)
from common.errors import InvalidInput
from contributors.models import ContributorProfile, Qualification
from tests.assessments.helpers import answer_all, code_item_awaiting_sandbox, make_grader
from tests.contributors.factories import ContributorFactory, UserFactory

pytestmark = pytest.mark.django_db

FULL = {"q-pair": {"names-danger": "3", "explains": "3"}, "q-long": {"correct": "5", "clear": "5"}}


def submitted(user, answers=None) -> Attempt:
    attempt = attempt_start(user=user, slug="starter")
    answer_all(attempt, user, answers=answers)
    attempt_submit(attempt_id=attempt.pk, user=user)  # eager: scoring runs at commit
    attempt_score(attempt_id=attempt.pk)  # tests run in one transaction: call the job directly
    return Attempt.objects.get(pk=attempt.pk)


def grade_all(grader, marks=None) -> int:
    done = 0
    while (task := grading_task_claim_next(grader=grader)) is not None:
        question_id = task.item.question_id
        grading_task_submit(
            task_id=task.pk, grader=grader, criteria=(marks or FULL)[question_id], comment=""
        )
        done += 1
    return done


def test_objective_items_are_scored_at_once_and_written_ones_wait_for_two_graders(
    tiny, candidate
) -> None:
    attempt = submitted(candidate)

    statuses = dict(attempt.items.values_list("question_id", "status"))
    assert statuses.pop("q-pair") == statuses.pop("q-long") == "awaiting_graders"
    assert set(statuses.values()) == {"scored"}
    pair = attempt.items.get(question_id="q-pair")
    assert pair.auto_points == Decimal(
        "4.00"
    )  # the right choice, before the justification is graded
    rounds = sorted(
        GradingTask.objects.filter(attempt=attempt).values_list("item__question_id", "round")
    )
    assert rounds == [("q-long", 1), ("q-long", 2), ("q-pair", 1), ("q-pair", 2)]
    assert attempt.status == "submitted"


def test_two_full_grades_pass_the_starter_grant_the_qualification_and_activate(
    tiny, candidate, grader_one, grader_two, django_capture_on_commit_callbacks
) -> None:
    attempt = submitted(candidate)

    assert grade_all(grader_one) == 2
    assert grade_all(grader_two) == 2
    with django_capture_on_commit_callbacks(execute=True):
        attempt_decide(attempt_id=attempt.pk)

    attempt.refresh_from_db()
    assert (attempt.status, attempt.passed, attempt.score_percent) == (
        "decided",
        True,
        Decimal("100.00"),
    )
    assert [(s["key"], s["points"], s["max_points"]) for s in attempt.breakdown] == [
        ("objective", "27.00", "27.00"),
        ("written", "20.00", "20.00"),
        ("extra", "5.00", "5.00"),
    ]
    qualification = Qualification.objects.get(user=candidate)
    assert (qualification.code, qualification.granted_by) == ("general", None)
    assert qualification.source == f"Tiny Starter v1, attempt {attempt.pk}"
    profile = ContributorProfile.objects.get(user=candidate)
    assert profile.status == "active"
    assert profile.status_changes.latest("created_at").reason.startswith(
        "Starter Assessment passed with 100.00%"
    )
    assert [message.subject for message in mail.outbox] == ["Your Tiny Starter result"]
    assert "you passed the Tiny Starter with 100.00%" in mail.outbox[0].body


def test_grades_within_the_margin_are_averaged(tiny, candidate, grader_one, grader_two) -> None:
    attempt = submitted(candidate)
    grade_all(grader_one, {**FULL, "q-long": {"correct": "5", "clear": "4"}})  # 9 of 10
    grade_all(grader_two, {**FULL, "q-long": {"correct": "4", "clear": "4"}})  # 8 of 10: within 2

    long_item = attempt.items.get(question_id="q-long")
    assert (long_item.status, long_item.human_points, long_item.score) == (
        "scored",
        Decimal("8.50"),
        Decimal("8.50"),
    )
    assert not GradingTask.objects.filter(item=long_item, round=3).exists()


def test_grades_too_far_apart_call_a_third_grader_who_decides(
    tiny, candidate, grader_one, grader_two
) -> None:
    attempt = submitted(candidate)
    grade_all(grader_one, {**FULL, "q-long": {"correct": "5", "clear": "5"}})  # 10
    grade_all(
        grader_two, {**FULL, "q-long": {"correct": "1", "clear": "1"}}
    )  # 2: more than 2 apart

    long_item = attempt.items.get(question_id="q-long")
    assert long_item.status == "awaiting_graders"
    assert ScoringEvent.objects.filter(item=long_item, kind="adjudication_needed").count() == 1

    adjudicator = make_grader("general")
    assert grade_all(adjudicator, {"q-long": {"correct": "4", "clear": "3"}}) == 1

    long_item.refresh_from_db()
    assert (long_item.status, long_item.score) == ("scored", Decimal("7.00"))
    assert long_item.scoring["human"] == {"points": "7.00", "how": "adjudicated"}


def test_empty_written_answers_score_zero_without_graders(tiny, candidate) -> None:
    attempt = submitted(
        candidate,
        answers={"q-pair": {"choice": "b", "justification": "  "}, "q-long": {"text": ""}},
    )
    assert not GradingTask.objects.filter(attempt=attempt).exists()
    pair = attempt.items.get(question_id="q-pair")
    assert (pair.status, pair.score) == ("scored", Decimal("4.00"))
    attempt_decide(attempt_id=attempt.pk)
    attempt.refresh_from_db()
    assert attempt.score_points == Decimal("36.00")  # 27 objective + 4 choice + 5 extra


def test_a_failed_starter_is_not_approved_and_grants_nothing(tiny, candidate) -> None:
    wrong = {
        "q-single": {"choice": "b"},
        "q-multi": {"choices": ["d"]},
        "q-num": {"value": "1"},
        "q-short": {"text": "1991"},
        "q-rate": {"ratings": {}},
        "q-pair": {"choice": "a", "justification": ""},
        "q-long": {"text": ""},
        "q-extra-1": {"choice": "b"},
        "q-extra-2": {"choice": "b"},
    }
    attempt = submitted(candidate, answers=wrong)
    attempt_decide(attempt_id=attempt.pk)
    attempt.refresh_from_db()
    assert (attempt.passed, attempt.score_percent) == (False, Decimal("0.00"))
    assert not Qualification.objects.filter(user=candidate).exists()
    assert ContributorProfile.objects.get(user=candidate).status == "not_approved"


def test_deciding_twice_decides_and_grants_once(tiny, candidate, grader_one, grader_two) -> None:
    attempt = submitted(candidate)
    grade_all(grader_one)
    grade_all(grader_two)
    attempt_decide(attempt_id=attempt.pk)
    attempt_decide(attempt_id=attempt.pk)
    assert ScoringEvent.objects.filter(attempt=attempt, kind="decided").count() == 1
    assert Qualification.objects.filter(user=candidate).count() == 1


def test_an_attempt_with_items_still_waiting_is_not_decided(tiny, candidate, grader_one) -> None:
    attempt = submitted(candidate)
    grade_all(grader_one)
    attempt_decide(attempt_id=attempt.pk)
    attempt.refresh_from_db()
    assert (attempt.status, attempt.passed) == ("submitted", None)


def test_a_grader_never_gets_their_own_attempt(tiny) -> None:
    reviewer = ContributorFactory(status="assessing")
    Qualification.objects.create(user=reviewer, code="general", source="test")
    reviewer.groups.add(
        *UserFactory._meta.model.groups.field.related_model.objects.filter(name="reviewer")
    )
    submitted(reviewer)
    assert grading_task_claim_next(grader=reviewer) is None


def test_a_grader_never_grades_both_rounds_of_one_item(tiny, candidate, grader_one) -> None:
    submitted(candidate)
    assert grade_all(grader_one) == 2  # one round of each of the two items, not four
    assert GradingTask.objects.filter(grader=grader_one).values("item").distinct().count() == 2


def test_the_database_refuses_a_grader_grading_their_own_attempt(tiny, candidate) -> None:
    attempt = submitted(candidate)
    task = GradingTask.objects.filter(attempt=attempt).first()
    task.grader = candidate
    task.status = GradingTask.Status.CLAIMED
    with pytest.raises(IntegrityError):
        task.save()


def test_grading_needs_the_reviewer_role_and_the_track(tiny, candidate) -> None:
    submitted(candidate)
    unqualified_reviewer = make_grader("mathematics")
    plain = ContributorFactory(status="active")
    Qualification.objects.create(user=plain, code="general", source="test")
    assert grading_task_claim_next(grader=unqualified_reviewer) is None
    with pytest.raises(GradingNotAllowed):
        grading_task_claim_next(grader=plain)


def test_a_grade_must_score_every_criterion_within_its_points(tiny, candidate, grader_one) -> None:
    submitted(candidate)
    task = grading_task_claim_next(grader=grader_one)
    rubric_ids = {"q-pair": ("names-danger", "explains"), "q-long": ("correct", "clear")}[
        task.item.question_id
    ]
    with pytest.raises(InvalidInput) as caught:
        grading_task_submit(
            task_id=task.pk,
            grader=grader_one,
            criteria={rubric_ids[0]: "99", "bogus": "1"},
            comment="",
        )
    assert set(caught.value.fields) == {
        f"criteria.{rubric_ids[0]}",
        f"criteria.{rubric_ids[1]}",
        "criteria.bogus",
    }
    task.refresh_from_db()
    assert (task.status, task.points) == ("claimed", None)


def test_a_grade_cannot_be_given_twice(tiny, candidate, grader_one) -> None:
    submitted(candidate)
    task = grading_task_claim_next(grader=grader_one)
    criteria = FULL[task.item.question_id]
    grading_task_submit(task_id=task.pk, grader=grader_one, criteria=criteria, comment="")
    with pytest.raises(GradingTaskClosed):
        grading_task_submit(task_id=task.pk, grader=grader_one, criteria=criteria, comment="again")


def test_claims_held_too_long_return_to_the_queue(tiny, candidate, grader_one) -> None:
    submitted(candidate)
    task = grading_task_claim_next(grader=grader_one)
    GradingTask.objects.filter(pk=task.pk).update(claimed_at=timezone.now() - timedelta(hours=5))
    assert grading_claims_release_expired() == 1
    task.refresh_from_db()
    assert (task.status, task.grader) == ("open", None)


def test_code_items_wait_for_people_when_the_sandbox_is_missing(tiny, candidate, mocker) -> None:
    from tests.assessments.helpers import GOOD_SUM_EVEN

    mocker.patch(
        "assessments.services.scoring.sandbox_check", return_value=(False, "bwrap missing")
    )
    item = code_item_awaiting_sandbox(candidate, GOOD_SUM_EVEN)
    item_code_score(item_id=item.pk)
    item.refresh_from_db()
    assert item.status == "awaiting_graders"
    assert GradingTask.objects.filter(item=item).count() == 2
    assert ScoringEvent.objects.filter(item=item, kind="sandbox_unavailable").get().detail == {
        "reason": "bwrap missing"
    }
