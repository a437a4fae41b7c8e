"""Handing out tasks: race-free, each to `overlap` distinct people, never twice to one person.

The claim locks one open task with SELECT … FOR UPDATE SKIP LOCKED, so simultaneous claimers
pass each other instead of queueing; the database keeps the rules even if the code did not:
a unique (task, person) pair, one active task per person and project, and a check that a task
is never filled past its overlap.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.utils import timezone

from common.errors import InvalidInput, NotFound
from contributors.models import User
from evaluations.errors import (
    AssignmentClosed,
    CapReached,
    NoForm,
    NoTaskAvailable,
    NotWorking,
    Paused,
)
from evaluations.models import Assignment, QualitySettings, Task
from evaluations.selectors import form_current, settings_for
from marketplace.models import Membership, Project

logger = logging.getLogger(__name__)
_random = secrets.SystemRandom()
ACTIVE_GAP = timedelta(minutes=2)  # longer pauses between signs of work do not count as work


def _open_task_for_update(*, project_id: int, user: User) -> Task | None:
    """Lock the best open task of the project this person never had, skipping locked ones.

    The whole row comes back, since the workspace shows it at once.
    """
    had = Assignment.objects.filter(task=OuterRef("pk"), contributor=user)
    return (
        Task.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(project_id=project_id, filled__lt=F("overlap"), is_gold=False)
        .filter(~Exists(had))
        .order_by("-priority", "id")
        .first()
    )


def _gold_task_for_update(*, project_id: int, user: User) -> Task | None:
    """Lock a random gold task of the project this person never had and that is not retired
    (shown to the project's limit of people: its overlap)."""
    had = Assignment.objects.filter(task=OuterRef("pk"), contributor=user)
    return (
        Task.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(project_id=project_id, filled__lt=F("overlap"), is_gold=True)
        .filter(~Exists(had))
        .order_by("?")
        .first()
    )


def _check_caps(
    *, project_id: int, user: User, daily_cap: int | None, project_cap: int | None
) -> None:
    taken = Assignment.objects.filter(project_id=project_id, contributor=user).exclude(
        status__in=[Assignment.Status.RELEASED, Assignment.Status.EXPIRED]
    )
    if project_cap is not None and taken.count() >= project_cap:
        raise CapReached(f"You have done this project's limit of {project_cap} tasks.")
    if daily_cap is not None:
        since = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
        if taken.filter(leased_at__gte=since).count() >= daily_cap:
            raise CapReached(
                f"You have reached today's limit of {daily_cap} tasks here; come back tomorrow."
            )


def assignment_next(*, project_id: int, user: User) -> Assignment:
    """Give the person their next task on a project, or the one they are already on.

    Priority first, then oldest. The lease expires after the project's lease time.
    """
    # One query answers: does the project exist, is the person working on it (and not paused),
    # which task are they on already, and how much gold is mixed in.
    active = Assignment.objects.filter(
        project=OuterRef("pk"), contributor=user, status=Assignment.Status.ACTIVE
    )
    member = Membership.objects.filter(project=OuterRef("pk"), user=user, left_at__isnull=True)
    gold = QualitySettings.objects.filter(project=OuterRef("pk"))
    seat = (
        Project.objects.filter(pk=project_id)
        .annotate(
            member=Exists(member),
            paused=Exists(member.filter(paused_at__isnull=False)),
            current=Subquery(active.values("pk")[:1]),
            gold_ratio=Subquery(gold.values("gold_ratio")[:1]),
        )
        .values_list("member", "paused", "current", "gold_ratio")
        .first()
    )
    if seat is None:
        raise NotFound(f"Project {project_id} does not exist.")
    is_member, paused, current_id, gold_ratio = seat
    if current_id is not None:
        return Assignment.objects.select_related("task", "form").get(pk=current_id)
    if not is_member:
        raise NotWorking()
    if paused:
        raise Paused()
    form = form_current(project=project_id)
    if form is None:
        raise NoForm()
    options = settings_for(project=project_id)
    if options.daily_cap is not None or options.project_cap is not None:
        _check_caps(
            project_id=project_id,
            user=user,
            daily_cap=options.daily_cap,
            project_cap=options.project_cap,
        )
    try:
        with transaction.atomic():
            task = None
            if gold_ratio and _random.random() < gold_ratio:
                task = _gold_task_for_update(project_id=project_id, user=user)
            if task is None:
                task = _open_task_for_update(project_id=project_id, user=user)
            if task is None:
                raise NoTaskAvailable()
            order = [response["id"] for response in task.responses]
            _random.shuffle(order)  # against position bias: per person, recorded
            now = timezone.now()
            assignment = Assignment.objects.create(
                task=task,
                project_id=project_id,
                contributor=user,
                form=form,
                leased_at=now,
                lease_expires_at=now + timedelta(minutes=options.lease_minutes),
                last_active_at=now,
                response_order=order,
            )
            Task.objects.filter(pk=task.pk).update(filled=F("filled") + 1)
    except IntegrityError as error:
        # Two claims of one person raced: the other one won; hand back what it got.
        current = Assignment.objects.filter(
            project_id=project_id, contributor=user, status=Assignment.Status.ACTIVE
        ).first()
        if current is None:
            raise NoTaskAvailable() from error
        return current
    task.filled += 1
    assignment.task = task
    return assignment


def assignment_get_own_for_update(
    *, assignment_id: int, user: User, related: tuple[str, ...] = ("task",)
) -> Assignment:
    """Lock one's own assignment (only its row), reading `related` with it."""
    try:
        return (
            Assignment.objects.select_for_update(of=("self",))
            .select_related(*related)
            .get(pk=assignment_id, contributor=user)
        )
    except Assignment.DoesNotExist as error:
        raise NotFound(f"Assignment {assignment_id} does not exist.") from error


def _give_back(assignment: Assignment, status: str, *, reason: str = "") -> Assignment:
    assignment.status = status
    assignment.skip_reason = reason
    assignment.closed_at = timezone.now()
    assignment.save(update_fields=["status", "skip_reason", "closed_at"])
    # A gold task stays counted as shown: its limit is on the people who saw it.
    Task.objects.filter(pk=assignment.task_id, is_gold=False).update(filled=F("filled") - 1)
    return assignment


@transaction.atomic
def assignment_skip(*, assignment_id: int, user: User, reason: str) -> Assignment:
    """Pass on a task, saying why; it goes back to the pool for others, never to this person."""
    if not reason.strip():
        raise InvalidInput(fields={"reason": ["Say why you skip this task."]})
    assignment = assignment_get_own_for_update(assignment_id=assignment_id, user=user)
    if assignment.status != Assignment.Status.ACTIVE:
        raise AssignmentClosed(f"This task is already {assignment.get_status_display().lower()}.")
    return _give_back(assignment, Assignment.Status.SKIPPED, reason=reason.strip()[:2000])


@transaction.atomic
def assignment_release(*, assignment_id: int, user: User) -> Assignment:
    """Give a task back without a reason (e.g. stopping for the day)."""
    assignment = assignment_get_own_for_update(assignment_id=assignment_id, user=user)
    if assignment.status != Assignment.Status.ACTIVE:
        raise AssignmentClosed(f"This task is already {assignment.get_status_display().lower()}.")
    return _give_back(assignment, Assignment.Status.RELEASED)


def assignment_touch(assignment: Assignment, *, now: datetime | None = None) -> None:
    """Count active time since the last sign of work (pauses over two minutes do not count)."""
    now = now or timezone.now()
    if assignment.last_active_at is not None and now - assignment.last_active_at <= ACTIVE_GAP:
        assignment.active_seconds += max(0, int((now - assignment.last_active_at).total_seconds()))
    assignment.last_active_at = now


@transaction.atomic
def assignment_draft_save(
    *, assignment_id: int, user: User, draft: dict[str, object]
) -> Assignment:
    """Autosave the answers so far; working on a task also extends its lease."""
    assignment = assignment_get_own_for_update(assignment_id=assignment_id, user=user)
    if assignment.status != Assignment.Status.ACTIVE:
        raise AssignmentClosed(f"This task is already {assignment.get_status_display().lower()}.")
    now = timezone.now()
    if now > assignment.lease_expires_at:
        from evaluations.errors import LeaseExpired

        raise LeaseExpired()
    assignment_touch(assignment, now=now)
    assignment.draft = draft
    lease = settings_for(project=assignment.project_id).lease_minutes
    assignment.lease_expires_at = max(assignment.lease_expires_at, now + timedelta(minutes=lease))
    assignment.save(update_fields=["draft", "active_seconds", "last_active_at", "lease_expires_at"])
    return assignment


def assignments_expire(*, batch: int = 500) -> int:
    """Return expired leases to the pool; returns how many."""
    done = 0
    while True:
        with transaction.atomic():
            expired = list(
                Assignment.objects.select_for_update(skip_locked=True)
                .filter(status=Assignment.Status.ACTIVE, lease_expires_at__lt=timezone.now())
                .order_by("pk")[:batch]
            )
            for assignment in expired:
                _give_back(assignment, Assignment.Status.EXPIRED)
        done += len(expired)
        if len(expired) < batch:
            break
    if done:
        logger.info("assignments.expired", extra={"count": done})
    return done
