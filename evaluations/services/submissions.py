"""Submitting answers: checked against the assignment's form version, once per assignment."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from common.errors import InvalidInput, NotFound
from contributors.models import User
from evaluations.answers import answers_check, prelabel_usage
from evaluations.errors import AssignmentClosed, LeaseExpired, ReviewStarted
from evaluations.models import (
    Assignment,
    QualitySettings,
    RationaleBand,
    Review,
    Submission,
    Task,
)
from evaluations.selectors import (
    form_schema,
    prelabels_for,
    quality_settings_for,
    quality_settings_of,
)
from evaluations.services.distribution import assignment_get_own_for_update, assignment_touch
from evaluations.services.quality_checks import bands_record, checks_run
from evaluations.services.reviews import (
    disagreement_check,
    first_review_level,
    review_open,
    review_reason,
)
from marketplace.models import Project
from marketplace.selectors import multiplier_for_user
from marketplace.services import earning_record_task

logger = logging.getLogger(__name__)


def _check(assignment: Assignment, answers: Any) -> dict[str, Any]:
    form = form_schema(assignment.form)
    clean, problems = answers_check(
        form=form, responses=assignment.task.responses, code=assignment.task.code, answers=answers
    )
    if problems:
        raise InvalidInput(
            "Some answers need attention: " + ", ".join(sorted(problems)), fields=problems
        )
    return clean


def answers_for_submission(submission: Submission, answers: Any) -> None:
    """Replace a submission's answers (an edit, or a revision), held to the same form and the
    same quality checks as on submit: a blocking check refuses the edit, flags and the gold
    result follow the new answers, and newly flagged work goes to review."""
    assignment = submission.assignment
    clean = _check(assignment, answers)
    quality = quality_settings_for(project=submission.project_id)
    outcome = checks_run(
        assignment=assignment, form=form_schema(assignment.form), answers=clean, quality=quality
    )
    submission.answers = clean
    submission.prelabel_usage = prelabel_usage(
        answers=clean, prelabels=prelabels_for(task=assignment.task)
    )
    submission.checks = {"form": "passed", **outcome.checks}
    submission.flags = outcome.flags
    submission.gold_correct = outcome.gold_correct
    submission.rationale_signature = outcome.signature
    submission.save(
        update_fields=[
            "answers",
            "prelabel_usage",
            "checks",
            "flags",
            "gold_correct",
            "rationale_signature",
            "updated_at",
        ]
    )
    RationaleBand.objects.filter(submission=submission).delete()
    if quality.duplicate_action != QualitySettings.Action.OFF:
        bands_record(submission=submission)
    if (
        outcome.flags
        and submission.status == Submission.Status.ACCEPTED
        and (quality.peer_review or quality.expert_review)
    ):
        submission.status = Submission.Status.IN_REVIEW
        submission.save(update_fields=["status"])
        review_open(
            submission=submission,
            level=first_review_level(quality, is_gold=submission.is_gold),
            reason=Review.Reason.FLAGGED,
        )


def submission_submit(*, assignment_id: int, user: User, answers: Any) -> Submission:
    """Submit the answers to a task. A double click or a retried request submits once.

    An accepted submission of a per-task project earns its task price through the
    marketplace's ledger, at the multiplier in force when the task was taken.
    """
    with transaction.atomic():
        assignment = assignment_get_own_for_update(
            assignment_id=assignment_id,
            user=user,
            related=("task", "form", "project", "project__quality_settings"),
        )
        if assignment.status == Assignment.Status.SUBMITTED:
            return Submission.objects.get(assignment=assignment)
        if assignment.status != Assignment.Status.ACTIVE:
            raise AssignmentClosed(
                f"This task was {assignment.get_status_display().lower()}; it cannot be submitted."
            )
        now = timezone.now()
        if now > assignment.lease_expires_at:
            raise LeaseExpired()
        clean = _check(assignment, answers)
        assignment_touch(assignment, now=now)
        quality = quality_settings_of(assignment.project)
        outcome = checks_run(
            assignment=assignment, form=form_schema(assignment.form), answers=clean, quality=quality
        )
        # The row lock above makes this the only submit of the assignment in flight, and the
        # unique assignment of a submission guards it in the database too.
        submission = Submission.objects.create(
            assignment=assignment,
            task_id=assignment.task_id,
            project_id=assignment.project_id,
            contributor=user,
            form_id=assignment.form_id,
            answers=clean,
            prelabel_usage=prelabel_usage(
                answers=clean, prelabels=prelabels_for(task=assignment.task)
            ),
            response_order=assignment.response_order,
            active_seconds=assignment.active_seconds,
            checks={"form": "passed", **outcome.checks},
            flags=outcome.flags,
            is_gold=assignment.task.is_gold,
            gold_correct=outcome.gold_correct,
            rationale_signature=outcome.signature,
        )
        if quality.duplicate_action != QualitySettings.Action.OFF:
            bands_record(submission=submission)
        project = assignment.project
        reason = review_reason(submission=submission, project=project, quality=quality)
        if reason is not None:
            submission.status = Submission.Status.IN_REVIEW
            submission.save(update_fields=["status"])
            review_open(
                submission=submission,
                level=first_review_level(quality, is_gold=submission.is_gold),
                reason=reason,
            )
        assignment.status = Assignment.Status.SUBMITTED
        assignment.closed_at = now
        assignment.save(update_fields=["status", "closed_at", "active_seconds", "last_active_at"])
        Task.objects.filter(pk=assignment.task_id).update(completed=F("completed") + 1)
        if project.pay_model == Project.PayModel.PER_TASK:
            # Paid now, pending; a rejection in review reverses it.
            earning_record_task(
                contributor=user,
                project=project,
                source_id=f"submission:{submission.pk}",
                active_seconds=submission.active_seconds,
                multiplier=multiplier_for_user(user=user, at=assignment.leased_at),
                accepted_at=timezone.localdate(now),
            )
        if not submission.is_gold:
            disagreement_check(task_id=assignment.task_id, quality=quality)
    logger.info("submission.created", extra={"submission_id": submission.pk})
    return submission


@transaction.atomic
def submission_update(*, submission_id: int, user: User, answers: Any) -> Submission:
    """Change one's answers until review starts (a revision is sent with submission_resubmit)."""
    submission = (
        Submission.objects.select_for_update(of=("self",))
        .select_related("assignment__task", "assignment__form")
        .filter(pk=submission_id, contributor=user)
        .first()
    )
    if submission is None:
        raise NotFound(f"Submission {submission_id} does not exist.")
    if submission.review_started_at is not None or submission.status in (
        Submission.Status.REJECTED,
        Submission.Status.REVISION,
    ):
        raise ReviewStarted()
    answers_for_submission(submission, answers)
    return submission


@transaction.atomic
def submission_resubmit(*, submission_id: int, user: User, answers: Any) -> Submission:
    """Send a revised submission back to review after a reviewer asked for changes."""
    submission = (
        Submission.objects.select_for_update(of=("self",))
        .select_related("assignment__task", "assignment__form")
        .filter(pk=submission_id, contributor=user)
        .first()
    )
    if submission is None:
        raise NotFound(f"Submission {submission_id} does not exist.")
    if submission.status != Submission.Status.REVISION:
        raise AssignmentClosed("Only a submission sent back for revision can be resubmitted.")
    answers_for_submission(submission, answers)
    submission.status = Submission.Status.IN_REVIEW
    submission.review_started_at = None
    submission.save(update_fields=["status", "review_started_at", "updated_at"])
    quality = quality_settings_for(project=submission.project_id)
    review_open(
        submission=submission,
        level=first_review_level(quality, is_gold=submission.is_gold),
        reason=Review.Reason.REVISED,
    )
    return submission
