"""Joining projects and tracking time: live sessions with heartbeats, and manual entries."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from common.errors import InvalidInput, NotFound, PermissionDenied
from common.jobs import enqueue_on_commit
from contributors.models import ContributorProfile, User
from marketplace.errors import (
    EntryNotPending,
    NotAMember,
    NotQualified,
    ProjectFull,
    ProjectNotOpen,
    SessionClosed,
    SessionOverlap,
)
from marketplace.models import ManualTimeEntry, Membership, Project, WorkSession
from marketplace.selectors import multiplier_for_user, project_is_eligible, projects_open
from marketplace.services.projects import project_get_for_update

logger = logging.getLogger(__name__)


def idle_limit() -> timedelta:
    return timedelta(minutes=getattr(settings, "MARKETPLACE_SESSION_IDLE_MINUTES", 5))


@transaction.atomic
def membership_join(*, project_id: int, user: User) -> Membership:
    """Join a project: refused, with the reason, when not qualified or when it is full.

    The project row is locked, so the last seat goes to one person only.
    """
    project = project_get_for_update(project_id=project_id)
    existing = Membership.objects.filter(project=project, user=user, left_at__isnull=True).first()
    if existing is not None:
        return existing
    profile = ContributorProfile.objects.filter(user=user).first()
    if profile is None or profile.status != ContributorProfile.Status.ACTIVE:
        raise NotQualified("Only approved contributors join projects.")
    if not projects_open().filter(pk=project.pk).exists():
        raise ProjectNotOpen()
    eligible, reasons = project_is_eligible(project=project, user=user)
    if not eligible:
        raise NotQualified("You do not qualify for this project yet. " + " ".join(reasons))
    members = Membership.objects.filter(project=project, left_at__isnull=True).count()
    if members >= project.capacity:
        raise ProjectFull()
    membership = Membership.objects.create(project=project, user=user)
    logger.info("project.joined", extra={"project_id": project.pk, "user_id": user.pk})
    return membership


@transaction.atomic
def membership_leave(*, project_id: int, user: User) -> None:
    """Leave a project (an open session on it is stopped first)."""
    membership = (
        Membership.objects.select_for_update()
        .filter(project_id=project_id, user=user, left_at__isnull=True)
        .first()
    )
    if membership is None:
        return
    open_session = WorkSession.objects.filter(
        user=user, project_id=project_id, ended_at__isnull=True
    ).first()
    if open_session is not None:
        _close(open_session, at=timezone.now(), reason=WorkSession.EndReason.STOPPED)
    membership.left_at = timezone.now()
    membership.save(update_fields=["left_at"])


@transaction.atomic
def membership_pause(*, project_id: int, user: User, reason: str) -> Membership | None:
    """Stop giving a member new tasks on a project (quality); they keep what they did."""
    membership = (
        Membership.objects.select_for_update()
        .filter(project_id=project_id, user=user, left_at__isnull=True)
        .first()
    )
    if membership is None or membership.paused_at is not None:
        return membership
    membership.paused_at = timezone.now()
    membership.paused_reason = reason
    membership.save(update_fields=["paused_at", "paused_reason"])
    logger.info("membership.paused", extra={"project_id": project_id, "user_id": user.pk})
    return membership


@transaction.atomic
def membership_resume(*, project_id: int, user: User, actor: User) -> Membership | None:
    """Staff let a paused member work again."""
    if not actor.has_perm("marketplace.change_project"):
        raise PermissionDenied("Only staff resume a paused member.")
    membership = (
        Membership.objects.select_for_update()
        .filter(project_id=project_id, user=user, left_at__isnull=True)
        .first()
    )
    if membership is None or membership.paused_at is None:
        return membership
    membership.paused_at = None
    membership.paused_reason = ""
    membership.save(update_fields=["paused_at", "paused_reason"])
    logger.info("membership.resumed", extra={"project_id": project_id, "user_id": user.pk})
    return membership


def _close(session: WorkSession, *, at: datetime, reason: str) -> WorkSession:
    from marketplace.tasks import earning_from_session_task

    session.ended_at = max(at, session.started_at)
    session.end_reason = reason
    session.save(update_fields=["ended_at", "end_reason"])
    enqueue_on_commit(earning_from_session_task, session.pk)
    logger.info("session.closed", extra={"session_id": session.pk, "end_reason": reason})
    return session


@transaction.atomic
def session_start(*, user: User, project_id: int) -> WorkSession:
    """Start the clock on a project. One person has one open session at a time; the database
    refuses a second (and, on PostgreSQL, any overlap at all)."""
    try:
        project = Project.objects.get(pk=project_id)
    except Project.DoesNotExist as error:
        raise NotFound(f"Project {project_id} does not exist.") from error
    if not Membership.objects.filter(project=project, user=user, left_at__isnull=True).exists():
        raise NotAMember()
    if not projects_open().filter(pk=project.pk).exists():
        raise ProjectNotOpen()
    open_session = WorkSession.objects.filter(user=user, ended_at__isnull=True).first()
    if open_session is not None:
        raise SessionOverlap(
            f"You already have a session running on {open_session.project.title}; stop it first.",
            fields={"project": ["Another session is running."]},
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            session = WorkSession.objects.create(
                user=user,
                project=project,
                started_at=now,
                last_heartbeat_at=now,
                pay_model=project.pay_model,
                rate=project.pay_rate,
                multiplier=multiplier_for_user(user=user, at=now),
                currency=project.currency,
            )
    except IntegrityError as error:
        raise SessionOverlap("Another session is running; stop it first.") from error
    logger.info("session.started", extra={"session_id": session.pk})
    return session


def _own_session_for_update(*, session_id: int, user: User) -> WorkSession:
    try:
        return WorkSession.objects.select_for_update().get(pk=session_id, user=user)
    except WorkSession.DoesNotExist as error:
        raise NotFound(f"Work session {session_id} does not exist.") from error


@transaction.atomic
def session_heartbeat(*, session_id: int, user: User) -> WorkSession:
    """Note that the person is still working; a closed session refuses it."""
    session = _own_session_for_update(session_id=session_id, user=user)
    if session.ended_at is not None:
        raise SessionClosed()
    session.last_heartbeat_at = timezone.now()
    session.save(update_fields=["last_heartbeat_at"])
    return session


@transaction.atomic
def session_stop(*, session_id: int, user: User) -> WorkSession:
    """Stop the clock; the time becomes a pending earning (hourly projects). Stopping twice is
    harmless."""
    session = _own_session_for_update(session_id=session_id, user=user)
    if session.ended_at is not None:
        return session
    return _close(session, at=timezone.now(), reason=WorkSession.EndReason.STOPPED)


def sessions_close_idle(*, now: datetime | None = None) -> int:
    """Close sessions with no heartbeat for the idle limit, at their last heartbeat."""
    cutoff = (now or timezone.now()) - idle_limit()
    closed = 0
    with transaction.atomic():
        stale = list(
            WorkSession.objects.select_for_update(skip_locked=True)
            .filter(ended_at__isnull=True, last_heartbeat_at__lt=cutoff)
            .order_by("pk")
        )
        for session in stale:
            _close(session, at=session.last_heartbeat_at, reason=WorkSession.EndReason.IDLE)
            closed += 1
    if closed:
        logger.info("sessions.closed_idle", extra={"count": closed})
    return closed


def _overlaps(
    *, user: User, started_at: datetime, ended_at: datetime, exclude_entry: int | None = None
) -> bool:
    sessions = WorkSession.objects.filter(user=user, started_at__lt=ended_at).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=started_at)
    )
    entries = ManualTimeEntry.objects.filter(
        user=user,
        status=ManualTimeEntry.Status.PENDING,
        started_at__lt=ended_at,
        ended_at__gt=started_at,
    )
    if exclude_entry is not None:
        entries = entries.exclude(pk=exclude_entry)
    return sessions.exists() or entries.exists()


def _overlaps_other_sessions(session: WorkSession) -> bool:
    """The check PostgreSQL's exclusion constraint makes, for databases without one."""
    return (
        WorkSession.objects.filter(user=session.user, started_at__lt=session.ended_at)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=session.started_at))
        .exclude(pk=session.pk)
        .exists()
    )


@transaction.atomic
def manual_entry_create(
    *, user: User, project_id: int, started_at: datetime, ended_at: datetime, reason: str
) -> ManualTimeEntry:
    """Ask for time worked without the tracker to count; staff approve or refuse it."""
    errors: dict[str, list[str]] = {}
    if not reason.strip():
        errors["reason"] = ["Say why the time was not tracked."]
    if ended_at <= started_at:
        errors["ended_at"] = ["The end must come after the start."]
    elif ended_at - started_at > timedelta(hours=12):
        errors["ended_at"] = ["One entry covers at most 12 hours."]
    if ended_at > timezone.now():
        errors.setdefault("ended_at", []).append("Time in the future cannot be entered.")
    if errors:
        raise InvalidInput("Invalid time entry: " + ", ".join(sorted(errors)), fields=errors)
    if not Membership.objects.filter(
        project_id=project_id, user=user, left_at__isnull=True
    ).exists():
        raise NotAMember()
    # Serialise one person's time writes so two overlapping entries cannot both pass the check.
    ContributorProfile.objects.select_for_update().filter(user=user).first()
    if _overlaps(user=user, started_at=started_at, ended_at=ended_at):
        raise SessionOverlap(
            "This time overlaps a session or another entry of yours.",
            fields={"started_at": ["Overlaps time you already recorded."]},
        )
    return ManualTimeEntry.objects.create(
        user=user,
        project_id=project_id,
        started_at=started_at,
        ended_at=ended_at,
        reason=reason.strip(),
    )


@transaction.atomic
def manual_entry_decide(
    *, entry_id: int, actor: User, approve: bool, note: str = ""
) -> ManualTimeEntry:
    """Approve (the time becomes a session, and its pay a pending earning) or refuse an entry."""
    if not actor.has_perm("marketplace.change_manualtimeentry"):
        raise PermissionDenied("Only staff decide on manual time.")
    try:
        entry = (
            ManualTimeEntry.objects.select_for_update().select_related("project").get(pk=entry_id)
        )
    except ManualTimeEntry.DoesNotExist as error:
        raise NotFound(f"Time entry {entry_id} does not exist.") from error
    if entry.status != ManualTimeEntry.Status.PENDING:
        raise EntryNotPending(f"This entry is already {entry.get_status_display().lower()}.")
    if entry.user_id == actor.pk:
        raise PermissionDenied("Nobody approves their own time.")
    entry.decided_by = actor
    entry.decided_at = timezone.now()
    entry.decision_note = note.strip()
    if approve:
        from marketplace.tasks import earning_from_session_task

        try:
            with transaction.atomic():
                session = WorkSession.objects.create(
                    user=entry.user,
                    project=entry.project,
                    source=WorkSession.Source.MANUAL,
                    started_at=entry.started_at,
                    last_heartbeat_at=entry.ended_at,
                    ended_at=entry.ended_at,
                    end_reason=WorkSession.EndReason.MANUAL,
                    pay_model=entry.project.pay_model,
                    rate=entry.project.pay_rate,
                    multiplier=multiplier_for_user(user=entry.user, at=entry.started_at),
                    currency=entry.project.currency,
                )
        except IntegrityError as error:
            raise SessionOverlap(
                "The entry overlaps a session recorded since; refuse it instead."
            ) from error
        if _overlaps_other_sessions(session):
            raise SessionOverlap("The entry overlaps a session recorded since; refuse it instead.")
        entry.session = session
        entry.status = ManualTimeEntry.Status.APPROVED
        entry.save(update_fields=["decided_by", "decided_at", "decision_note", "session", "status"])
        enqueue_on_commit(earning_from_session_task, session.pk)
    else:
        entry.status = ManualTimeEntry.Status.REFUSED
        entry.save(update_fields=["decided_by", "decided_at", "decision_note", "status"])
    return entry
