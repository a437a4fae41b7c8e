"""Handing out tasks: race-free, each to `overlap` distinct people, never twice to one person.

The claim locks one open task with SELECT … FOR UPDATE SKIP LOCKED, so simultaneous claimers
pass each other instead of queueing; the database keeps the rules even if the code did not:
a unique (task, person) pair, one active task per person and project, and a check that a task
is never filled past its overlap.

This is the service's hot path, so it is kept to three statements on PostgreSQL: the token
lookup (the API's), one query for the person's seat on the project with the project's form and
settings, and the claim itself as one statement (lock, count the place, insert the assignment).
On SQLite, the zero-setup default, the claim is the same steps through the ORM in a transaction.
"""

from __future__ import annotations

import logging
import secrets
from contextlib import nullcontext
from datetime import datetime, timedelta

import orjson
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
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
from evaluations.models import (
    Assignment,
    EvaluationForm,
    EvaluationSettings,
    Task,
)
from evaluations.selectors import settings_for
from marketplace.models import Membership, Project

logger = logging.getLogger(__name__)
_random = secrets.SystemRandom()
ID_MAX = 2**63 - 1  # the largest id a bigint column holds
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


# The claim as one statement (PostgreSQL): lock the best open task this person never had,
# skipping locked ones, count the place taken and insert the assignment, with the responses in
# an order of this person's own (against position bias; recorded). One statement is atomic on
# its own: a unique key that refuses the insert undoes the count as well.
_CLAIM_SQL = """
WITH picked AS (
    SELECT t.id FROM evaluations_task t
    WHERE t.project_id = %(project)s AND t.filled < t.overlap AND {gold}
      AND NOT EXISTS (
          SELECT 1 FROM evaluations_assignment a
          WHERE a.task_id = t.id AND a.contributor_id = %(user)s)
    ORDER BY {order}
    LIMIT 1
    FOR UPDATE OF t SKIP LOCKED
), taken AS (
    UPDATE evaluations_task t SET filled = t.filled + 1 FROM picked WHERE t.id = picked.id
    RETURNING t.*
), made AS (
    INSERT INTO evaluations_assignment (
        task_id, project_id, contributor_id, status, leased_at, lease_expires_at, form_id,
        response_order, draft, active_seconds, last_active_at, skip_reason)
    SELECT taken.id, %(project)s, %(user)s, 'active', %(now)s, %(expires)s, %(form)s,
        (SELECT COALESCE(jsonb_agg(r.value -> 'id' ORDER BY random()), '[]'::jsonb)
         FROM jsonb_array_elements(taken.responses) AS r),
        '{{}}'::jsonb, 0, %(now)s, ''
    FROM taken
    RETURNING id, response_order
)
SELECT taken.*, made.id AS claimed_id, made.response_order AS claimed_order FROM taken, made
"""
# The open queue in priority, then age; gold at random. Each matches its partial index.
_CLAIM_OPEN_SQL = _CLAIM_SQL.format(gold="NOT t.is_gold", order="t.priority DESC, t.id")
_CLAIM_GOLD_SQL = _CLAIM_SQL.format(gold="t.is_gold", order="random()")


def _claim_postgres(
    *, project_id: int, user: User, form: EvaluationForm, gold: bool, now: datetime, lease: int
) -> Assignment | None:
    """The claim in one statement; None when no task is open to this person."""
    params = {
        "project": project_id,
        "user": user.pk,
        "form": form.pk,
        "now": now,
        "expires": now + timedelta(minutes=lease),
    }
    claim = Task.objects.raw(_CLAIM_GOLD_SQL if gold else _CLAIM_OPEN_SQL, params)
    # Alone, the statement needs no transaction; inside one (a caller's), a savepoint lets a
    # refused claim (IntegrityError) leave that transaction usable.
    with transaction.atomic() if connection.in_atomic_block else nullcontext():
        found = list(claim)
    if not found:
        return None
    task = found[0]
    order = task.claimed_order
    assignment = Assignment(
        pk=task.claimed_id,
        task=task,
        project_id=project_id,
        contributor=user,
        status=Assignment.Status.ACTIVE,
        leased_at=now,
        lease_expires_at=params["expires"],
        form=form,
        response_order=orjson.loads(order) if isinstance(order, str | bytes) else order,
        draft={},
        active_seconds=0,
        last_active_at=now,
    )
    assignment._state.adding = False
    assignment._state.db = task._state.db
    return assignment


def _claim_orm(
    *, project_id: int, user: User, form: EvaluationForm, gold: bool, now: datetime, lease: int
) -> Assignment | None:
    """The same claim as _claim_postgres, step by step in a transaction (SQLite)."""
    with transaction.atomic():
        pick = _gold_task_for_update if gold else _open_task_for_update
        task = pick(project_id=project_id, user=user)
        if task is None:
            return None
        order = [response["id"] for response in task.responses]
        _random.shuffle(order)  # against position bias: per person, recorded
        assignment = Assignment.objects.create(
            task=task,
            project_id=project_id,
            contributor=user,
            form=form,
            leased_at=now,
            lease_expires_at=now + timedelta(minutes=lease),
            last_active_at=now,
            response_order=order,
        )
        Task.objects.filter(pk=task.pk).update(filled=F("filled") + 1)
    task.filled += 1
    return assignment


# The person's seat on a project, with the project's current form and settings, in one query
# (the ORM's version of it cost more to build than to run).
_SEAT_SQL = """
SELECT f.*,
    EXISTS (SELECT 1 FROM marketplace_membership m WHERE m.project_id = f.project_id
            AND m.user_id = %(user)s AND m.left_at IS NULL) AS seat_member,
    EXISTS (SELECT 1 FROM marketplace_membership m WHERE m.project_id = f.project_id
            AND m.user_id = %(user)s AND m.left_at IS NULL
            AND m.paused_at IS NOT NULL) AS seat_paused,
    (SELECT a.id FROM evaluations_assignment a WHERE a.project_id = f.project_id
            AND a.contributor_id = %(user)s AND a.status = %(active)s LIMIT 1) AS seat_current,
    (SELECT q.gold_ratio FROM evaluations_qualitysettings q
            WHERE q.project_id = f.project_id) AS seat_gold_ratio,
    s.lease_minutes AS seat_lease_minutes,
    s.daily_cap AS seat_daily_cap,
    s.project_cap AS seat_project_cap
FROM evaluations_evaluationform f
LEFT JOIN evaluations_evaluationsettings s ON s.project_id = f.project_id
WHERE f.project_id = %(project)s
ORDER BY f.version DESC
LIMIT 1
"""


def _seat(*, project_id: int, user: User) -> EvaluationForm | None:
    """The project's current form, with all that a claim needs to know of the person and the
    project (seat_*): are they working on it (and not paused), which task are they on already,
    how much gold is mixed in, the lease and the caps. One query. None when the project does not
    exist or has no form yet."""
    if not 0 < project_id <= ID_MAX:
        return None  # no such row; the ORM's refusal then says so (raw SQL would overflow)
    params = {"project": project_id, "user": user.pk, "active": Assignment.Status.ACTIVE}
    found = list(EvaluationForm.objects.raw(_SEAT_SQL, params))
    return found[0] if found else None


def _no_seat(*, project_id: int, user: User) -> None:
    """Why a project without a form gives this person nothing: it does not exist, they are not
    working on it, they paused, or it has no form yet (in that order)."""
    member = Membership.objects.filter(project=OuterRef("pk"), user=user, left_at__isnull=True)
    seat = (
        Project.objects.filter(pk=project_id)
        .annotate(member=Exists(member), paused=Exists(member.filter(paused_at__isnull=False)))
        .values_list("member", "paused")
        .first()
    )
    if seat is None:
        raise NotFound(f"Project {project_id} does not exist.")
    is_member, paused = seat
    if not is_member:
        raise NotWorking()
    if paused:
        raise Paused()
    raise NoForm()


def assignment_next(*, project_id: int, user: User) -> Assignment:
    """Give the person their next task on a project, or the one they are already on.

    Priority first, then oldest. The lease expires after the project's lease time.
    """
    form = _seat(project_id=project_id, user=user)
    if form is None:
        _no_seat(project_id=project_id, user=user)
    if form.seat_current is not None:
        return Assignment.objects.select_related("task", "form").get(pk=form.seat_current)
    if not form.seat_member:
        raise NotWorking()
    if form.seat_paused:
        raise Paused()
    lease = form.seat_lease_minutes or EvaluationSettings(project_id=project_id).lease_minutes
    if form.seat_daily_cap is not None or form.seat_project_cap is not None:
        _check_caps(
            project_id=project_id,
            user=user,
            daily_cap=form.seat_daily_cap,
            project_cap=form.seat_project_cap,
        )
    claim = _claim_postgres if connection.vendor == "postgresql" else _claim_orm
    now = timezone.now()
    try:
        assignment = None
        if form.seat_gold_ratio and _random.random() < form.seat_gold_ratio:
            assignment = claim(
                project_id=project_id, user=user, form=form, gold=True, now=now, lease=lease
            )
        if assignment is None:
            assignment = claim(
                project_id=project_id, user=user, form=form, gold=False, now=now, lease=lease
            )
    except IntegrityError as error:
        # Two claims of one person raced: the other one won; hand back what it got.
        current = (
            Assignment.objects.select_related("task", "form")
            .filter(project_id=project_id, contributor=user, status=Assignment.Status.ACTIVE)
            .first()
        )
        if current is None:
            raise NoTaskAvailable() from error
        return current
    if assignment is None:
        raise NoTaskAvailable()
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
