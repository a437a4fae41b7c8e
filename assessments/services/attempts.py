"""Who may take which assessment, and the life of an attempt: start, answer, submit."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from assessments.errors import (
    AssessmentNotFound,
    AttemptClosed,
    AttemptInProgress,
    DeadlinePassed,
    NotEligible,
    QuestionNotInAttempt,
    StarterAlreadyTaken,
)
from assessments.models import Assessment, Attempt, AttemptItem
from assessments.questions import answer_clean, points
from assessments.services.trail import trail
from common.errors import NotFound
from common.jobs import enqueue_on_commit
from contributors.models import ContributorProfile, User
from contributors.selectors import profile_get_for_update

logger = logging.getLogger(__name__)
Status = ContributorProfile.Status


@dataclass(frozen=True)
class Eligibility:
    may_start: bool
    reason: str = ""
    open_attempt_id: int | None = None


def assessment_eligibility(
    *, profile: ContributorProfile | None, assessment: Assessment, attempts: list[Attempt]
) -> Eligibility:
    """Whether a person may start `assessment` now, and if not, why, in words for them.

    `attempts` are all of the person's attempts (any assessment), newest first.
    """
    if profile is None:
        return Eligibility(False, "Only contributors take assessments.")
    mine = [attempt for attempt in attempts if attempt.slug == assessment.slug]
    open_attempt = next((a for a in mine if a.status == Attempt.Status.IN_PROGRESS), None)
    if open_attempt is not None:
        return Eligibility(False, "You have an attempt in progress.", open_attempt.pk)
    if assessment.is_starter:
        if mine:
            return Eligibility(
                False, "The Starter Assessment can be taken only once; you have taken it."
            )
        if profile.status == Status.APPLICANT:
            return Eligibility(False, "Submit your application first.")
        if profile.status != Status.ASSESSING:
            return Eligibility(False, "The Starter Assessment is part of the application.")
        return Eligibility(True)
    passed = {attempt.slug for attempt in attempts if attempt.passed}
    if "starter" not in passed:
        return Eligibility(False, "Pass the Starter Assessment first.")
    missing = [slug for slug in assessment.prerequisites if slug not in passed]
    if missing:
        return Eligibility(False, f"Pass {', '.join(missing)} first.")
    if profile.status != Status.ACTIVE:
        return Eligibility(False, "Your account is not active.")
    if assessment.slug in passed:
        return Eligibility(False, "You passed this assessment.")
    if len(mine) >= assessment.max_attempts:
        allowed = "once" if assessment.max_attempts == 1 else f"{assessment.max_attempts} times"
        return Eligibility(
            False, f"This assessment can be taken {allowed}; you have no attempts left."
        )
    last = mine[0] if mine else None
    if last is not None and last.decided_at is not None and assessment.cooldown_days:
        again = last.decided_at + timedelta(days=assessment.cooldown_days)
        if again > timezone.now():
            return Eligibility(False, f"You can try again from {again:%d %B %Y}.")
    if last is not None and last.status != Attempt.Status.DECIDED:
        return Eligibility(False, "Your last attempt is still being scored.")
    return Eligibility(True)


def assessment_get_current(*, slug: str) -> Assessment:
    try:
        return Assessment.objects.get(slug=slug, is_current=True)
    except Assessment.DoesNotExist as error:
        raise AssessmentNotFound(f"There is no assessment {slug!r}.") from error


def _draw(assessment: Assessment) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """A random sample of each pool, the whole in a shuffled order: [(section, question)]."""
    rng = secrets.SystemRandom()
    drawn = [
        (section, question)
        for section in assessment.content["sections"]
        for question in rng.sample(section["questions"], section["draw"])
    ]
    rng.shuffle(drawn)
    return drawn


@transaction.atomic(durable=True)
def attempt_start(*, user: User, slug: str) -> Attempt:
    """Start an attempt: fix its questions and its deadline on the server.

    The person's profile row is locked so that their simultaneous starts queue up and see each
    other; the unique constraints on attempts are the last guard.
    """
    assessment = assessment_get_current(slug=slug)
    try:
        profile = profile_get_for_update(profile_id=user.profile.pk)
    except ContributorProfile.DoesNotExist as error:
        raise NotEligible("Only contributors take assessments.") from error
    attempts = list(Attempt.objects.filter(user=user).order_by("-started_at", "-id"))
    eligibility = assessment_eligibility(profile=profile, assessment=assessment, attempts=attempts)
    if not eligibility.may_start:
        if eligibility.open_attempt_id is not None:
            raise AttemptInProgress(eligibility.open_attempt_id)
        if assessment.is_starter and any(attempt.is_starter for attempt in attempts):
            raise StarterAlreadyTaken()
        raise NotEligible(eligibility.reason)

    drawn = _draw(assessment)
    now = timezone.now()
    try:
        with transaction.atomic():
            attempt = Attempt.objects.create(
                assessment=assessment,
                slug=assessment.slug,
                is_starter=assessment.is_starter,
                user=user,
                number=1 + sum(1 for attempt in attempts if attempt.slug == assessment.slug),
                started_at=now,
                deadline_at=now + timedelta(minutes=assessment.time_limit_minutes),
                max_points=points(sum(Decimal(str(q["points"])) for _section, q in drawn)),
            )
    except IntegrityError as error:
        if assessment.is_starter:
            raise StarterAlreadyTaken() from error
        raise AttemptInProgress(0) from error
    AttemptItem.objects.bulk_create(
        AttemptItem(
            attempt=attempt,
            position=position,
            question_id=question["id"],
            section_key=section["key"],
            qtype=question["type"],
            points=points(question["points"]),
        )
        for position, (section, question) in enumerate(drawn, start=1)
    )
    trail(
        attempt,
        "started",
        actor=user,
        questions=[q["id"] for _s, q in drawn],
        version=assessment.version,
    )
    logger.info("attempt.started", extra={"attempt_id": attempt.pk, "slug": slug})
    return attempt


def attempt_get_own_for_update(*, attempt_id: int, user: User) -> Attempt:
    try:
        return (
            Attempt.objects.select_for_update(of=("self",))
            .select_related("assessment")
            .get(pk=attempt_id, user=user)
        )
    except Attempt.DoesNotExist as error:
        raise NotFound(f"Attempt {attempt_id} does not exist.") from error


@transaction.atomic
def attempt_answer(*, attempt_id: int, user: User, item_id: int, answer: Any) -> AttemptItem:
    """Save (autosave) the answer to one question of an open attempt."""
    attempt = attempt_get_own_for_update(attempt_id=attempt_id, user=user)
    if attempt.status != Attempt.Status.IN_PROGRESS:
        raise AttemptClosed()
    if timezone.now() > attempt.deadline_at:
        raise DeadlinePassed()
    try:
        item = attempt.items.get(pk=item_id)
    except AttemptItem.DoesNotExist as error:
        raise QuestionNotInAttempt() from error
    item.answer = answer_clean(attempt.assessment.question(item.question_id), answer)
    item.answered_at = timezone.now()
    item.save(update_fields=["answer", "answered_at"])
    return item


def _close(attempt: Attempt, *, by: str, actor: User | None) -> None:
    from assessments.tasks import attempt_score_task

    attempt.status = Attempt.Status.SUBMITTED
    attempt.submitted_at = timezone.now()
    attempt.submitted_by = by
    attempt.save(update_fields=["status", "submitted_at", "submitted_by"])
    answered = attempt.items.filter(answer__isnull=False).count()
    trail(attempt, "submitted", actor=actor, by=by, answered=answered)
    enqueue_on_commit(attempt_score_task, attempt.pk)


@transaction.atomic
def attempt_submit(*, attempt_id: int, user: User) -> Attempt:
    """Submit an attempt for scoring; submitting again changes nothing."""
    attempt = attempt_get_own_for_update(attempt_id=attempt_id, user=user)
    if attempt.status == Attempt.Status.IN_PROGRESS:
        _close(attempt, by=Attempt.SubmittedBy.CANDIDATE, actor=user)
        logger.info("attempt.submitted", extra={"attempt_id": attempt.pk})
    return attempt


@transaction.atomic
def attempt_expire(*, attempt_id: int, user: User) -> Attempt:
    """Submit an open attempt whose deadline has passed (when its page is opened late)."""
    attempt = attempt_get_own_for_update(attempt_id=attempt_id, user=user)
    if attempt.status == Attempt.Status.IN_PROGRESS and timezone.now() > attempt.deadline_at:
        _close(attempt, by=Attempt.SubmittedBy.DEADLINE, actor=None)
    return attempt


def attempts_submit_expired(*, batch: int = 100) -> int:
    """Submit what was saved of every attempt whose deadline has passed; returns how many."""
    done = 0
    while True:
        with transaction.atomic():
            expired = list(
                Attempt.objects.select_for_update(skip_locked=True)
                .filter(status=Attempt.Status.IN_PROGRESS, deadline_at__lt=timezone.now())
                .order_by("deadline_at", "pk")[:batch]
            )
            for attempt in expired:
                _close(attempt, by=Attempt.SubmittedBy.DEADLINE, actor=None)
        done += len(expired)
        if len(expired) < batch:
            break
    if done:
        logger.info("attempts.expired_submitted", extra={"count": done})
    return done
