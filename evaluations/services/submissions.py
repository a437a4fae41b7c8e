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
from evaluations.models import Assignment, Submission, Task
from evaluations.selectors import form_schema, prelabels_for
from evaluations.services.distribution import assignment_get_own_for_update, assignment_touch
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


def submission_submit(*, assignment_id: int, user: User, answers: Any) -> Submission:
    """Submit the answers to a task. A double click or a retried request submits once.

    An accepted submission of a per-task project earns its task price through the
    marketplace's ledger, at the multiplier in force when the task was taken.
    """
    with transaction.atomic():
        assignment = assignment_get_own_for_update(
            assignment_id=assignment_id, user=user, related=("task", "form", "project")
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
            checks={"form": "passed"},
        )
        assignment.status = Assignment.Status.SUBMITTED
        assignment.closed_at = now
        assignment.save(update_fields=["status", "closed_at", "active_seconds", "last_active_at"])
        Task.objects.filter(pk=assignment.task_id).update(completed=F("completed") + 1)
        project = assignment.project
        if project.pay_model == Project.PayModel.PER_TASK:
            earning_record_task(
                contributor=user,
                project=project,
                source_id=f"submission:{submission.pk}",
                active_seconds=submission.active_seconds,
                multiplier=multiplier_for_user(user=user, at=assignment.leased_at),
                accepted_at=timezone.localdate(now),
            )
    logger.info("submission.created", extra={"submission_id": submission.pk})
    return submission


@transaction.atomic
def submission_update(*, submission_id: int, user: User, answers: Any) -> Submission:
    """Change one's answers until review starts."""
    try:
        submission = (
            Submission.objects.select_for_update(of=("self",))
            .select_related("assignment__task", "assignment__form")
            .get(pk=submission_id, contributor=user)
        )
    except Submission.DoesNotExist as error:
        raise NotFound(f"Submission {submission_id} does not exist.") from error
    if submission.review_started_at is not None:
        raise ReviewStarted()
    submission.answers = _check(submission.assignment, answers)
    submission.prelabel_usage = prelabel_usage(
        answers=submission.answers, prelabels=prelabels_for(task=submission.assignment.task)
    )
    submission.save(update_fields=["answers", "prelabel_usage", "updated_at"])
    return submission
