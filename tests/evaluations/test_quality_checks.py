"""The automated checks on submit: active time, rationale length, contradictions, copied
rationales (MinHash), and gold answers compared within tolerance."""

import re
from datetime import timedelta

import numpy as np
import pytest
import time_machine
from django.utils import timezone

from common.errors import InvalidInput
from evaluations import services
from evaluations.checks import buckets, contradictions, gold_compare, minhash, similarity
from evaluations.models import Assignment, Review, Submission, Task
from evaluations.schema import form_parse
from tests.evaluations.helpers import FORM, good_answers, project_with_tasks, worker
from tests.evaluations.quality_helpers import (
    GOLD,
    gold_project,
    right_answers,
    take_gold,
    wrong_answers,
)
from tests.marketplace.helpers import staff

pytestmark = pytest.mark.django_db

COPIED = (
    "Response A explains the recursion base case clearly, then walks through every step of "
    "the algorithm with a worked example that a beginner could follow without any trouble."
)
OWN = (
    "Both answers name the capital correctly, but only the second mentions the population "
    "figure from the census and cites where that number comes from."
)


def answers_with(task: Task, **changes: object) -> dict[str, object]:
    return {**good_answers(task), **changes}


# --- pure parts -------------------------------------------------------------------------------


def test_identical_rationales_have_an_estimated_similarity_of_one() -> None:
    first, second = minhash(COPIED), minhash(COPIED)
    assert similarity(first, second) == 1.0
    assert buckets(first) == buckets(second)


def test_unrelated_rationales_have_an_estimated_similarity_near_zero() -> None:
    # No word 3-shingle is shared, so the true Jaccard overlap is 0; a minimum hash can only
    # match by a collision of two 32-bit shingle hashes.
    assert similarity(minhash(COPIED), minhash(OWN)) < 0.05
    assert not set(buckets(minhash(COPIED))) & set(buckets(minhash(OWN)))


def word_shingles(text: str) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}


def jaccard(first: str, second: str) -> float:
    a, b = word_shingles(first), word_shingles(second)
    return len(a & b) / len(a | b)


# Words 0-11 against words 5-16: shingles 5..9 shared out of 0..14, a Jaccard overlap of 1/3.
THIRD_A = " ".join(f"word{n}" for n in range(0, 12))
THIRD_B = " ".join(f"word{n}" for n in range(5, 17))


def test_minhash_estimates_a_third_overlap_within_the_sampling_error() -> None:
    assert jaccard(THIRD_A, THIRD_B) == pytest.approx(1 / 3)
    # With 64 hashes the estimate's standard error is sqrt(1/3 · 2/3 / 64) ≈ 0.059; allow four.
    assert similarity(minhash(THIRD_A), minhash(THIRD_B)) == pytest.approx(1 / 3, abs=0.24)


def test_minhash_estimates_track_the_true_overlap_over_many_pairs() -> None:
    rng = np.random.default_rng(7)
    errors, false_copies = [], 0
    for _ in range(200):
        length = int(rng.integers(12, 41))
        words = [f"w{n}" for n in rng.integers(0, 10**6, size=length + 20)]
        shift = int(rng.integers(1, length // 2 + 1))
        first, second = " ".join(words[:length]), " ".join(words[shift : shift + length])
        true, estimate = jaccard(first, second), similarity(minhash(first), minhash(second))
        errors.append(abs(estimate - true))
        false_copies += true < 0.5 and estimate >= 0.8
    # Each estimate has a standard error of at most 0.0625 (at J = 0.5): the mean absolute
    # error of unbiased estimates is about 0.05, and a pair below 0.5 reaching 0.8 is a
    # five-sigma event.
    assert sum(errors) / len(errors) < 0.08
    assert false_copies == 0


def test_a_text_without_words_has_no_signature() -> None:
    assert minhash(" ... !!! ") is None


def test_preferring_a_response_that_every_rating_puts_lower_is_a_contradiction() -> None:
    form = form_parse(FORM)
    answers = {"helpfulness": {"a": 2, "b": 6}, "better": {"choice": "a", "strength": 3}}
    assert contradictions(form, answers) == ["better prefers a, but every rating puts b higher"]


def test_a_preference_that_agrees_with_the_ratings_is_no_contradiction() -> None:
    form = form_parse(FORM)
    assert contradictions(form, {"helpfulness": {"a": 6, "b": 2}, "better": {"choice": "a"}}) == []
    # Equal ratings do not contradict either preference.
    assert contradictions(form, {"helpfulness": {"a": 4, "b": 4}, "better": {"choice": "b"}}) == []


def test_gold_ratings_count_as_right_within_the_tolerance_only() -> None:
    form = form_parse(FORM)
    gold = {"helpfulness": {"a": 6, "b": 2}}
    assert gold_compare(form, {"helpfulness": {"a": 5, "b": 3}}, gold, {}) == {"helpfulness": True}
    assert gold_compare(form, {"helpfulness": {"a": 4, "b": 2}}, gold, {}) == {"helpfulness": False}
    assert gold_compare(form, {"helpfulness": {"a": 4, "b": 2}}, gold, {"helpfulness": 2}) == {
        "helpfulness": True
    }
    assert gold_compare(form, {"helpfulness": {"a": 5, "b": 2}}, gold, {"helpfulness": 0}) == {
        "helpfulness": False
    }


def test_a_gold_preference_is_compared_by_its_choice_not_its_strength() -> None:
    form = form_parse(FORM)
    gold = {"better": {"choice": "a", "strength": 3}}
    assert gold_compare(form, {"better": {"choice": "a", "strength": 1}}, gold, {}) == {
        "better": True
    }
    assert gold_compare(form, {"better": {"choice": "b", "strength": 3}}, gold, {}) == {
        "better": False
    }


# --- on submit --------------------------------------------------------------------------------


@pytest.fixture
def boss():
    return staff()


def test_too_little_active_time_blocks_the_submission_and_saves_nothing(boss) -> None:
    project = project_with_tasks(1, actor=boss)
    services.quality_settings_set(
        project_id=project.pk, actor=boss, min_active_seconds=60, min_active_action="block"
    )
    person = worker(project)
    assignment = services.assignment_next(project_id=project.pk, user=person)

    with pytest.raises(InvalidInput) as refused:
        services.submission_submit(
            assignment_id=assignment.pk, user=person, answers=good_answers(assignment.task)
        )

    assert list(refused.value.fields) == ["active_seconds"]
    assert "at least 60 s per task" in refused.value.fields["active_seconds"][0]
    assert not Submission.objects.exists()
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.ACTIVE
    assert Task.objects.get().completed == 0


def test_too_little_active_time_flagged_sends_the_submission_to_review(boss) -> None:
    project = project_with_tasks(1, actor=boss)
    services.quality_settings_set(
        project_id=project.pk,
        actor=boss,
        min_active_seconds=60,
        min_active_action="flag",
        peer_review=True,
    )
    person = worker(project)
    assignment = services.assignment_next(project_id=project.pk, user=person)

    submission = services.submission_submit(
        assignment_id=assignment.pk, user=person, answers=good_answers(assignment.task)
    )

    assert submission.status == Submission.Status.IN_REVIEW
    assert submission.checks["min_active_time"] == "flagged"
    assert [flag["check"] for flag in submission.flags] == ["min_active_time"]
    assert Review.objects.get(submission=submission).reason == Review.Reason.FLAGGED


def test_enough_active_time_passes_the_check(boss) -> None:
    project = project_with_tasks(1, actor=boss)
    services.quality_settings_set(
        project_id=project.pk, actor=boss, min_active_seconds=60, min_active_action="block"
    )
    person = worker(project)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assignment = services.assignment_next(project_id=project.pk, user=person)
    with time_machine.travel(start + timedelta(seconds=90), tick=False):
        submission = services.submission_submit(
            assignment_id=assignment.pk, user=person, answers=good_answers(assignment.task)
        )
    assert submission.active_seconds == 90
    assert submission.checks["min_active_time"] == "passed"
    assert submission.flags == []


def test_a_short_rationale_is_refused_naming_its_answer_and_nothing_is_saved(boss) -> None:
    project = project_with_tasks(1, actor=boss)
    services.quality_settings_set(
        project_id=project.pk, actor=boss, min_rationale_chars=80, rationale_action="block"
    )
    person = worker(project)
    assignment = services.assignment_next(project_id=project.pk, user=person)
    short = "Too short, though the form's own minimum is met."  # 48 characters

    with pytest.raises(InvalidInput) as refused:
        services.submission_submit(
            assignment_id=assignment.pk,
            user=person,
            answers=answers_with(assignment.task, rationale=short),
        )

    assert refused.value.fields == {
        "answers.rationale": ["Explain your judgement in at least 80 characters (this has 48)."]
    }
    assert not Submission.objects.exists()
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.ACTIVE


def test_a_long_enough_rationale_passes_the_length_check(boss) -> None:
    project = project_with_tasks(1, actor=boss)
    services.quality_settings_set(project_id=project.pk, actor=boss, min_rationale_chars=80)
    person = worker(project)
    assignment = services.assignment_next(project_id=project.pk, user=person)
    submission = services.submission_submit(
        assignment_id=assignment.pk,
        user=person,
        answers=answers_with(assignment.task, rationale=COPIED),
    )
    assert submission.checks["rationale_length"] == "passed"


def test_preferring_the_lower_rated_response_is_flagged_as_a_contradiction(boss) -> None:
    project = project_with_tasks(1, actor=boss)
    person = worker(project)
    assignment = services.assignment_next(project_id=project.pk, user=person)

    submission = services.submission_submit(
        assignment_id=assignment.pk,
        user=person,
        answers=answers_with(
            assignment.task,
            helpfulness={"a": 2, "b": 6},
            better={"choice": "a", "strength": 3},
        ),
    )

    assert submission.checks["contradiction"] == "flagged"
    assert submission.flags == [
        {"check": "contradiction", "detail": "better prefers a, but every rating puts b higher"}
    ]


def test_a_consistent_answer_passes_the_contradiction_check(boss) -> None:
    project = project_with_tasks(1, actor=boss)
    person = worker(project)
    assignment = services.assignment_next(project_id=project.pk, user=person)
    submission = services.submission_submit(
        assignment_id=assignment.pk,
        user=person,
        answers=answers_with(
            assignment.task,
            helpfulness={"a": 6, "b": 2},
            better={"choice": "a", "strength": 3},
        ),
    )
    assert submission.checks["contradiction"] == "passed"
    assert submission.flags == []


def submit_rationale(project, person, text: str) -> Submission:
    assignment = services.assignment_next(project_id=project.pk, user=person)
    return services.submission_submit(
        assignment_id=assignment.pk,
        user=person,
        answers=answers_with(assignment.task, rationale=text),
    )


def test_repeating_ones_own_rationale_is_not_a_near_duplicate(boss) -> None:
    project = project_with_tasks(2, actor=boss)
    person = worker(project)
    submit_rationale(project, person, COPIED)
    again = submit_rationale(project, person, COPIED)
    assert again.checks["near_duplicate"] == "passed"
    assert again.flags == []


def test_copying_another_contributors_rationale_is_flagged_naming_the_original(boss) -> None:
    project = project_with_tasks(3, actor=boss)
    author = worker(project)
    original = submit_rationale(project, author, COPIED)
    submit_rationale(project, author, COPIED)

    copy = submit_rationale(project, worker(project), COPIED)

    assert copy.checks["near_duplicate"] == "flagged"
    assert [flag["check"] for flag in copy.flags] == ["near_duplicate"]
    # Either of the author's two identical rationales is the closest one.
    assert copy.flags[0]["detail"] in {
        f"The rationale is about 100% the same as another contributor's (submission {pk})."
        for pk in Submission.objects.filter(contributor=author).values_list("pk", flat=True)
    }
    assert original.rationale_signature == copy.rationale_signature


def test_a_rationale_of_ones_own_words_passes_the_near_duplicate_check(boss) -> None:
    project = project_with_tasks(2, actor=boss)
    submit_rationale(project, worker(project), COPIED)
    mine = submit_rationale(project, worker(project), OWN)
    assert mine.checks["near_duplicate"] == "passed"
    assert mine.flags == []


def test_a_rationale_sharing_a_third_of_its_phrases_is_not_flagged_as_a_copy(boss) -> None:
    project = project_with_tasks(2, actor=boss)
    submit_rationale(project, worker(project), THIRD_A)
    mine = submit_rationale(project, worker(project), THIRD_B)
    assert mine.checks["near_duplicate"] == "passed"


def test_a_near_duplicate_can_be_refused_without_naming_whose_it_copies(boss) -> None:
    project = project_with_tasks(2, actor=boss)
    services.quality_settings_set(project_id=project.pk, actor=boss, duplicate_action="block")
    submit_rationale(project, worker(project), COPIED)
    copier = worker(project)
    with pytest.raises(InvalidInput, match="nearly the same as another contributor's"):
        submit_rationale(project, copier, COPIED)
    assert Submission.objects.filter(contributor=copier).count() == 0


def test_a_wrong_gold_answer_is_recorded_and_flagged(boss) -> None:
    project = gold_project(1, actor=boss)
    person = worker(project)
    assignment = take_gold(project, person)

    submission = services.submission_submit(
        assignment_id=assignment.pk, user=person, answers=wrong_answers()
    )

    assert (submission.is_gold, submission.gold_correct) == (True, False)
    assert submission.checks["gold"] == "flagged"
    assert submission.flags == [
        {"check": "gold", "detail": "Differs from the expected: helpfulness, better."}
    ]


def test_a_wrong_gold_answer_is_recorded_but_not_flagged_when_the_setting_is_off(boss) -> None:
    project = gold_project(1, actor=boss, gold_action="off")
    person = worker(project)
    assignment = take_gold(project, person)
    submission = services.submission_submit(
        assignment_id=assignment.pk, user=person, answers=wrong_answers()
    )
    assert submission.gold_correct is False
    assert "gold" not in submission.checks
    assert submission.flags == []


def test_a_gold_answer_within_the_rating_tolerance_is_right(boss) -> None:
    project = gold_project(1, actor=boss)
    person = worker(project)
    assignment = take_gold(project, person)
    # GOLD rates a 6 and b 2; 5 and 3 are one point off each, the default tolerance.
    assert right_answers()["helpfulness"] == {"a": 5, "b": 3}
    assert GOLD["helpfulness"] == {"a": 6, "b": 2}

    submission = services.submission_submit(
        assignment_id=assignment.pk, user=person, answers=right_answers()
    )

    assert submission.gold_correct is True
    assert submission.checks["gold"] == "passed"
    assert submission.flags == []


# --- after submit -----------------------------------------------------------------------------


def test_editing_a_submission_is_held_to_the_rationale_length_rule(boss) -> None:
    project = project_with_tasks(1, actor=boss)
    services.quality_settings_set(project_id=project.pk, actor=boss, min_rationale_chars=80)
    person = worker(project)
    assignment = services.assignment_next(project_id=project.pk, user=person)
    submission = services.submission_submit(
        assignment_id=assignment.pk,
        user=person,
        answers=answers_with(assignment.task, rationale=COPIED),
    )

    with pytest.raises(InvalidInput) as refused:
        services.submission_update(
            submission_id=submission.pk,
            user=person,
            answers=answers_with(assignment.task, rationale="Short but over ten."),
        )

    assert list(refused.value.fields) == ["answers.rationale"]
    submission.refresh_from_db()
    assert submission.answers["rationale"] == COPIED


def test_editing_a_gold_answer_recomputes_whether_it_is_right(boss) -> None:
    project = gold_project(1, actor=boss)
    person = worker(project)
    assignment = take_gold(project, person)
    submission = services.submission_submit(
        assignment_id=assignment.pk, user=person, answers=wrong_answers()
    )

    services.submission_update(submission_id=submission.pk, user=person, answers=right_answers())

    submission.refresh_from_db()
    assert submission.answers["better"]["choice"] == "a"
    assert submission.gold_correct is True
