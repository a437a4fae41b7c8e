"""Human grading: two blind, independent grades per item; a third grader when they differ."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from assessments.errors import GradingNotAllowed, GradingTaskClosed
from assessments.models import Attempt, AttemptItem, GradingTask
from assessments.questions import human_points, points
from assessments.services.trail import trail
from common.errors import InvalidInput, NotFound
from common.jobs import enqueue_on_commit
from contributors.models import User
from contributors.selectors import qualification_codes_for_user

logger = logging.getLogger(__name__)

REVIEW_PERMISSION = "contributors.review_work"
CLAIM_LEASE = timedelta(hours=4)


def grading_rubric(question: dict[str, Any]) -> list[dict[str, Any]]:
    """The criteria a grader scores. A code item graded by hand (no sandbox) has one criterion."""
    if question["type"] == "code":
        return [
            {
                "id": "tests",
                "text": "Judging by reading the code: the share of the hidden tests it would pass, "
                "times the points.",
                "points": str(points(question["points"])),
            }
        ]
    return [
        {
            "id": criterion["id"],
            "text": criterion["text"],
            "points": str(points(criterion["points"])),
        }
        for criterion in question["rubric"]
    ]


def grader_tracks(*, user: User) -> set[str]:
    """The tracks a person may grade: reviewers grade the tracks they are qualified in."""
    if not user.has_perm(REVIEW_PERMISSION):
        return set()
    return qualification_codes_for_user(user=user)


def grading_tasks_create(*, item: AttemptItem, attempt: Attempt, rounds: tuple[int, ...]) -> None:
    GradingTask.objects.bulk_create(
        GradingTask(
            item=item,
            attempt=attempt,
            candidate_id=attempt.user_id,
            track=attempt.assessment.track,
            round=r,
        )
        for r in rounds
    )
    trail(attempt, "grading_requested", item=item, rounds=list(rounds))


def grading_task_claim_next(*, grader: User) -> GradingTask | None:
    """Hand the grader the oldest open task they may grade, or the one they already hold.

    Never a task of their own attempt, never a second round of an item they graded; the row
    lock with SKIP LOCKED lets many graders claim at once without meeting.
    """
    tracks = grader_tracks(user=grader)
    if not tracks:
        raise GradingNotAllowed("Grading needs the reviewer role and a qualification in the track.")
    with transaction.atomic():
        held = GradingTask.objects.filter(grader=grader, status=GradingTask.Status.CLAIMED).first()
        if held is not None:
            return held
        task = (
            GradingTask.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=GradingTask.Status.OPEN, track__in=tracks)
            .exclude(candidate=grader)
            .exclude(item__grading_tasks__grader=grader)
            .order_by("created_at", "id")
            .first()
        )
        if task is None:
            return None
        task.status = GradingTask.Status.CLAIMED
        task.grader = grader
        task.claimed_at = timezone.now()
        task.save(update_fields=["status", "grader", "claimed_at"])
        trail(task.attempt, "grading_claimed", item=task.item, actor=grader, round=task.round)
    return task


def grading_task_get_for_grader(*, task_id: int, grader: User) -> GradingTask:
    try:
        return GradingTask.objects.select_related("item", "attempt__assessment").get(
            pk=task_id, grader=grader
        )
    except GradingTask.DoesNotExist as error:
        raise NotFound(f"Grading task {task_id} does not exist.") from error


def _clean_criteria(rubric: list[dict[str, Any]], given: dict[str, Any]) -> dict[str, Decimal]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Decimal] = {}
    for criterion in rubric:
        raw = given.get(criterion["id"])
        path = f"criteria.{criterion['id']}"
        try:
            value = points(str(raw).strip()) if raw not in (None, "") else None
        except InvalidOperation:
            value = None
            errors[path] = ["Enter a number of points."]
            continue
        maximum = Decimal(criterion["points"])
        if value is None:
            errors[path] = ["Score every criterion."]
        elif not Decimal(0) <= value <= maximum:
            errors[path] = [f"Give 0 to {maximum} points."]
        else:
            cleaned[criterion["id"]] = value
    unknown = set(given) - {criterion["id"] for criterion in rubric}
    for name in sorted(unknown):
        errors[f"criteria.{name}"] = ["Not a criterion of this rubric."]
    if errors:
        raise InvalidInput("Invalid grade: " + ", ".join(sorted(errors)), fields=errors)
    return cleaned


def _settle(item: AttemptItem, attempt: Attempt) -> bool:
    """Settle an item's human score once its grades agree (or are adjudicated)."""
    question = attempt.assessment.question(item.question_id)
    grades = {
        task.round: task.points
        for task in item.grading_tasks.filter(status=GradingTask.Status.DONE)
    }
    maximum = human_points(question)
    if 3 in grades:
        human = grades[3]
        how = "adjudicated"
    elif 1 in grades and 2 in grades:
        gap = abs(grades[1] - grades[2])
        if gap > attempt.assessment.grading_margin * maximum:
            if not item.grading_tasks.filter(round=3).exists():
                grading_tasks_create(item=item, attempt=attempt, rounds=(3,))
                trail(
                    attempt,
                    "adjudication_needed",
                    item=item,
                    grades=[str(grades[1]), str(grades[2])],
                )
            return False
        human = points((grades[1] + grades[2]) / 2)
        how = "mean of two"
    else:
        return False
    item.human_points = human
    item.score = min(item.points, (item.auto_points or Decimal(0)) + human)
    item.status = AttemptItem.Status.SCORED
    item.scoring = {**item.scoring, "human": {"points": str(human), "how": how}}
    item.save(update_fields=["human_points", "score", "status", "scoring"])
    trail(attempt, "item_scored", item=item, score=str(item.score), how=how)
    return True


def grading_task_submit(
    *, task_id: int, grader: User, criteria: dict[str, Any], comment: str
) -> GradingTask:
    """Record a grade against the rubric; settle the item when the grades allow it."""
    from assessments.tasks import attempt_decide_task

    with transaction.atomic():
        try:
            task = (
                GradingTask.objects.select_for_update(of=("self",))
                .select_related("attempt__assessment")
                .get(pk=task_id, grader=grader)
            )
        except GradingTask.DoesNotExist as error:
            raise NotFound(f"Grading task {task_id} does not exist.") from error
        if task.status == GradingTask.Status.DONE:
            raise GradingTaskClosed()
        item = AttemptItem.objects.select_for_update().get(pk=task.item_id)
        question = task.attempt.assessment.question(item.question_id)
        cleaned = _clean_criteria(grading_rubric(question), criteria)
        task.criteria = {key: str(value) for key, value in cleaned.items()}
        task.points = points(sum(cleaned.values(), Decimal(0)))
        task.comment = comment.strip()[:5000]
        task.status = GradingTask.Status.DONE
        task.submitted_at = timezone.now()
        task.save(update_fields=["criteria", "points", "comment", "status", "submitted_at"])
        trail(
            task.attempt,
            "graded",
            item=item,
            actor=grader,
            round=task.round,
            points=str(task.points),
        )
        if _settle(item, task.attempt):
            enqueue_on_commit(attempt_decide_task, task.attempt_id)
    logger.info("grading.submitted", extra={"task_id": task.pk, "round": task.round})
    return task


def grading_claims_release_expired(*, lease: timedelta = CLAIM_LEASE) -> int:
    """Put claims held longer than the lease back in the queue; returns how many."""
    stale = GradingTask.objects.filter(
        status=GradingTask.Status.CLAIMED, claimed_at__lt=timezone.now() - lease
    )
    return stale.update(status=GradingTask.Status.OPEN, grader=None, claimed_at=None)
