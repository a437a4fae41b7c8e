"""Reads of the assessments app, scoped to who asks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from assessments.models import Assessment, Attempt, AttemptItem, GradingTask, ScoringEvent
from assessments.questions import question_public
from assessments.services.attempts import Eligibility, assessment_eligibility
from assessments.services.grading import grader_tracks
from common.errors import NotFound
from contributors.models import ContributorProfile, User
from contributors.qualifications import TIERS, qualification_label, tier_for_qualification

DECISION_TARGET = timedelta(hours=72)
STAFF_PERMISSION = "assessments.view_attempt"


def unlocks(codes: list[str]) -> list[dict[str, str]]:
    """What qualifications open: label, tier, tier label."""
    return [
        {
            "code": code,
            "label": qualification_label(code),
            "tier": tier_for_qualification(code),
            "tier_label": TIERS[tier_for_qualification(code)],
        }
        for code in codes
    ]


@dataclass
class AssessmentRow:
    assessment: Assessment
    eligibility: Eligibility
    attempts: list[Attempt]
    unlocks: list[dict[str, str]]

    @property
    def latest(self) -> Attempt | None:
        return self.attempts[0] if self.attempts else None

    @property
    def questions_drawn(self) -> int:
        return sum(section["draw"] for section in self.assessment.content["sections"])


def assessment_rows_for_user(*, user: User) -> list[AssessmentRow]:
    """Every current assessment with whether this person may take it and their attempts."""
    profile = ContributorProfile.objects.filter(user=user).first()
    attempts = list(Attempt.objects.filter(user=user).order_by("-started_at", "-id"))
    rows = []
    for assessment in Assessment.objects.filter(is_current=True).order_by("-kind", "title"):
        rows.append(
            AssessmentRow(
                assessment=assessment,
                eligibility=assessment_eligibility(
                    profile=profile, assessment=assessment, attempts=attempts
                ),
                attempts=[attempt for attempt in attempts if attempt.slug == assessment.slug],
                unlocks=unlocks(assessment.grants),
            )
        )
    # Starter first, then what the person may take, then the rest.
    rows.sort(
        key=lambda row: (
            not row.assessment.is_starter,
            not row.eligibility.may_start,
            row.assessment.title,
        )
    )
    return rows


def assessment_row_for_user(*, user: User, slug: str) -> AssessmentRow:
    for row in assessment_rows_for_user(user=user):
        if row.assessment.slug == slug:
            return row
    raise NotFound(f"There is no assessment {slug!r}.")


def attempt_list_own(*, user: User) -> QuerySet[Attempt]:
    return (
        Attempt.objects.filter(user=user)
        .select_related("assessment")
        .order_by("-started_at", "-id")
    )


def attempt_get_own(*, attempt_id: int, user: User) -> Attempt:
    """One of the caller's attempts; anybody else's is not found."""
    try:
        return attempt_list_own(user=user).get(pk=attempt_id)
    except Attempt.DoesNotExist as error:
        raise NotFound(f"Attempt {attempt_id} does not exist.") from error


def attempt_get_for_staff(*, attempt_id: int, viewer: User) -> Attempt:
    if not viewer.has_perm(STAFF_PERMISSION):
        raise NotFound(f"Attempt {attempt_id} does not exist.")
    try:
        return Attempt.objects.select_related("assessment", "user").get(pk=attempt_id)
    except Attempt.DoesNotExist as error:
        raise NotFound(f"Attempt {attempt_id} does not exist.") from error


def attempt_items_public(*, attempt: Attempt) -> list[dict[str, Any]]:
    """The attempt's questions as the candidate sees them, with their saved answers."""
    titles = attempt.assessment.section_titles()
    return [
        {
            "id": item.pk,
            "position": item.position,
            "section": titles.get(item.section_key, item.section_key),
            "question": question_public(attempt.assessment.question(item.question_id)),
            "answer": item.answer,
            "answered_at": item.answered_at,
        }
        for item in attempt.items.order_by("position")
    ]


def attempt_progress(*, attempt: Attempt) -> dict[str, int]:
    counts = attempt.items.aggregate(
        total=Count("id"),
        scored=Count("id", filter=Q(status=AttemptItem.Status.SCORED)),
        graders=Count("id", filter=Q(status=AttemptItem.Status.AWAITING_GRADERS)),
        sandbox=Count("id", filter=Q(status=AttemptItem.Status.AWAITING_SANDBOX)),
        answered=Count("id", filter=Q(answer__isnull=False)),
    )
    return {key: value or 0 for key, value in counts.items()}


def attempt_qualifications_granted(*, attempt: Attempt) -> list[dict[str, str]]:
    if not attempt.passed:
        return []
    return unlocks(attempt.assessment.grants)


def attempt_trail(*, attempt: Attempt) -> QuerySet[ScoringEvent]:
    return attempt.events.select_related("item", "actor").order_by("created_at", "id")


def grading_tasks_for_grader(*, grader: User) -> QuerySet[GradingTask]:
    return (
        GradingTask.objects.filter(grader=grader)
        .select_related("item", "attempt__assessment")
        .order_by("-claimed_at", "-id")
    )


def grading_queue_for_grader(*, grader: User) -> dict[str, int]:
    """How many answers wait for this grader, by track (their own attempts left out)."""
    tracks = grader_tracks(user=grader)
    if not tracks:
        return {}
    rows = (
        GradingTask.objects.filter(status=GradingTask.Status.OPEN, track__in=tracks)
        .exclude(candidate=grader)
        .exclude(item__grading_tasks__grader=grader)
        .values("track")
        .annotate(waiting=Count("id"))
    )
    return {row["track"]: row["waiting"] for row in rows}


def grading_backlog(*, viewer: User) -> list[dict[str, Any]]:
    """Staff: submitted attempts not yet decided, oldest first, against the 72-hour target."""
    if not viewer.has_perm(STAFF_PERMISSION):
        raise NotFound("Not found.")
    now = timezone.now()
    attempts = (
        Attempt.objects.filter(status=Attempt.Status.SUBMITTED)
        .select_related("assessment")
        .annotate(
            open_tasks=Count(
                "grading_tasks", filter=Q(grading_tasks__status=GradingTask.Status.OPEN)
            ),
            claimed_tasks=Count(
                "grading_tasks", filter=Q(grading_tasks__status=GradingTask.Status.CLAIMED)
            ),
            oldest_task=Min(
                "grading_tasks__created_at",
                filter=~Q(grading_tasks__status=GradingTask.Status.DONE),
            ),
        )
        .order_by("submitted_at", "id")
    )
    rows = []
    for attempt in attempts:
        age = now - attempt.submitted_at
        rows.append(
            {
                "attempt": attempt,
                "age_hours": round(age.total_seconds() / 3600, 1),
                "due_at": attempt.submitted_at + DECISION_TARGET,
                "overdue": age > DECISION_TARGET,
                "open_tasks": attempt.open_tasks,
                "claimed_tasks": attempt.claimed_tasks,
            }
        )
    return rows
