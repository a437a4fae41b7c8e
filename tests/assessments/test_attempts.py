"""Eligibility, starting, answering and submitting attempts."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from assessments.errors import (
    AttemptClosed,
    AttemptInProgress,
    DeadlinePassed,
    InvalidAnswer,
    NotEligible,
    QuestionNotInAttempt,
    StarterAlreadyTaken,
)
from assessments.models import Attempt, ScoringEvent
from assessments.services import (
    attempt_answer,
    attempt_start,
    attempt_submit,
    attempts_submit_expired,
)
from assessments.tasks import attempt_score_task
from contributors.models import ContributorProfile
from tests.assessments.helpers import load_tiny
from tests.contributors.factories import ContributorFactory

pytestmark = pytest.mark.django_db


def test_start_draws_from_each_pool_and_fixes_a_server_deadline(tiny, candidate) -> None:
    before = timezone.now()
    attempt = attempt_start(user=candidate, slug="starter")

    items = list(attempt.items.order_by("position"))
    assert [item.position for item in items] == list(range(1, 9))
    sections = sorted(item.section_key for item in items)
    assert sections == ["extra"] + ["objective"] * 5 + ["written"] * 2
    assert attempt.max_points == sum(item.points for item in items)
    assert attempt.deadline_at - attempt.started_at == timedelta(minutes=60)
    assert attempt.started_at >= before
    assert ScoringEvent.objects.filter(attempt=attempt, kind="started").count() == 1


def test_each_attempt_draws_its_own_sample(tiny) -> None:
    drawn = set()
    for _ in range(30):
        attempt = attempt_start(
            user=ContributorFactory(status="assessing", with_lists=False), slug="starter"
        )
        drawn |= set(
            attempt.items.filter(section_key="extra").values_list("question_id", flat=True)
        )
    assert drawn == {"q-extra-1", "q-extra-2"}


def test_the_starter_needs_a_submitted_application(tiny) -> None:
    applicant = ContributorFactory(status="applicant")
    with pytest.raises(NotEligible, match="Submit your application first"):
        attempt_start(user=applicant, slug="starter")
    assert Attempt.objects.count() == 0


def test_the_starter_is_taken_once(tiny, candidate) -> None:
    attempt = attempt_start(user=candidate, slug="starter")
    attempt_submit(attempt_id=attempt.pk, user=candidate)
    with pytest.raises(StarterAlreadyTaken):
        attempt_start(user=candidate, slug="starter")
    assert Attempt.objects.filter(user=candidate).count() == 1


def test_starting_again_while_in_progress_names_the_open_attempt(tiny, candidate) -> None:
    attempt = attempt_start(user=candidate, slug="starter")
    with pytest.raises(AttemptInProgress) as caught:
        attempt_start(user=candidate, slug="starter")
    assert caught.value.attempt_id == attempt.pk


def test_a_specialist_assessment_needs_a_passed_starter(tiny) -> None:
    active = ContributorFactory(status="active")
    with pytest.raises(NotEligible, match="Pass the Starter Assessment first"):
        attempt_start(user=active, slug="tiny-code")
    assert Attempt.objects.count() == 0


def _passed_starter(user) -> None:
    attempt = attempt_start(user=user, slug="starter")
    Attempt.objects.filter(pk=attempt.pk).update(
        status="decided",
        submitted_at=timezone.now(),
        decided_at=timezone.now(),
        passed=True,
        score_percent=90,
    )
    ContributorProfile.objects.filter(user=user).update(status="active")


def test_a_specialist_retake_waits_for_the_cooldown_and_the_limit(tiny, candidate) -> None:
    _passed_starter(candidate)
    first = attempt_start(user=candidate, slug="tiny-code")
    Attempt.objects.filter(pk=first.pk).update(
        status="decided",
        submitted_at=timezone.now(),
        decided_at=timezone.now(),
        passed=False,
        score_percent=10,
    )
    with pytest.raises(NotEligible, match="You can try again from"):
        attempt_start(user=candidate, slug="tiny-code")

    with time_machine.travel(timezone.now() + timedelta(days=8)):
        second = attempt_start(user=candidate, slug="tiny-code")
        Attempt.objects.filter(pk=second.pk).update(
            status="decided",
            submitted_at=timezone.now(),
            decided_at=timezone.now(),
            passed=False,
            score_percent=10,
        )
    with (
        time_machine.travel(timezone.now() + timedelta(days=30)),
        pytest.raises(NotEligible, match="no attempts left"),
    ):
        attempt_start(user=candidate, slug="tiny-code")
    assert (first.number, second.number) == (1, 2)


def test_answers_are_saved_and_can_change_until_submission(tiny, candidate) -> None:
    attempt = attempt_start(user=candidate, slug="starter")
    item = attempt.items.get(question_id="q-single")
    attempt_answer(attempt_id=attempt.pk, user=candidate, item_id=item.pk, answer={"choice": "b"})
    attempt_answer(attempt_id=attempt.pk, user=candidate, item_id=item.pk, answer={"choice": "a"})
    item.refresh_from_db()
    assert item.answer == {"choice": "a"}
    assert item.answered_at is not None


def test_answering_a_question_of_another_attempt_is_refused(tiny, candidate) -> None:
    mine = attempt_start(user=candidate, slug="starter")
    other = attempt_start(user=ContributorFactory(status="assessing"), slug="starter")
    foreign = other.items.first()
    with pytest.raises(QuestionNotInAttempt):
        attempt_answer(
            attempt_id=mine.pk, user=candidate, item_id=foreign.pk, answer={"choice": "a"}
        )
    foreign.refresh_from_db()
    assert foreign.answer is None


def test_answering_after_submission_is_refused_and_changes_nothing(tiny, candidate) -> None:
    attempt = attempt_start(user=candidate, slug="starter")
    item = attempt.items.get(question_id="q-single")
    attempt_answer(attempt_id=attempt.pk, user=candidate, item_id=item.pk, answer={"choice": "b"})
    attempt_submit(attempt_id=attempt.pk, user=candidate)
    with pytest.raises(AttemptClosed):
        attempt_answer(
            attempt_id=attempt.pk, user=candidate, item_id=item.pk, answer={"choice": "a"}
        )
    item.refresh_from_db()
    assert item.answer == {"choice": "b"}


def test_answering_after_the_deadline_is_refused(tiny, candidate) -> None:
    attempt = attempt_start(user=candidate, slug="starter")
    item = attempt.items.get(question_id="q-single")
    with (
        time_machine.travel(attempt.deadline_at + timedelta(seconds=1)),
        pytest.raises(DeadlinePassed),
    ):
        attempt_answer(
            attempt_id=attempt.pk, user=candidate, item_id=item.pk, answer={"choice": "a"}
        )
    item.refresh_from_db()
    assert item.answer is None


def test_a_malformed_answer_is_refused_with_the_field(tiny, candidate) -> None:
    attempt = attempt_start(user=candidate, slug="starter")
    item = attempt.items.get(question_id="q-num")
    with pytest.raises(InvalidAnswer) as caught:
        attempt_answer(
            attempt_id=attempt.pk, user=candidate, item_id=item.pk, answer={"value": "lots"}
        )
    assert list(caught.value.fields) == ["answer.value"]


def test_someone_elses_attempt_is_not_found(tiny, candidate) -> None:
    from common.errors import NotFound

    attempt = attempt_start(user=candidate, slug="starter")
    with pytest.raises(NotFound):
        attempt_submit(attempt_id=attempt.pk, user=ContributorFactory(status="assessing"))


def test_submitting_twice_submits_once(tiny, candidate) -> None:
    attempt = attempt_start(user=candidate, slug="starter")
    first = attempt_submit(attempt_id=attempt.pk, user=candidate)
    second = attempt_submit(attempt_id=attempt.pk, user=candidate)
    assert first.submitted_at == second.submitted_at
    assert ScoringEvent.objects.filter(attempt=attempt, kind="submitted").count() == 1


def test_submitting_queues_scoring_after_commit(
    tiny, candidate, django_capture_on_commit_callbacks, mocker
) -> None:
    delay = mocker.patch.object(attempt_score_task, "delay")
    attempt = attempt_start(user=candidate, slug="starter")
    with django_capture_on_commit_callbacks(execute=True):
        attempt_submit(attempt_id=attempt.pk, user=candidate)
    delay.assert_called_once_with(attempt.pk)


def test_the_deadline_job_submits_what_was_saved_of_late_attempts_only(tiny, candidate) -> None:
    late = attempt_start(user=candidate, slug="starter")
    on_time = attempt_start(user=ContributorFactory(status="assessing"), slug="starter")
    Attempt.objects.filter(pk=late.pk).update(
        started_at=timezone.now() - timedelta(hours=2),
        deadline_at=timezone.now() - timedelta(hours=1),
    )

    assert attempts_submit_expired() == 1
    assert attempts_submit_expired() == 0

    late.refresh_from_db()
    on_time.refresh_from_db()
    assert (late.status, late.submitted_by) == ("submitted", "deadline")
    assert on_time.status == "in_progress"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_starter_starts_make_exactly_one_attempt() -> None:
    load_tiny()
    person = ContributorFactory(status="assessing")
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def start() -> None:
        try:
            barrier.wait()
            attempt_start(user=person, slug="starter")
            outcomes.append("started")
        except (StarterAlreadyTaken, AttemptInProgress) as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("started") == 1
    assert len(outcomes) == 20
    assert Attempt.objects.filter(user=person).count() == 1
