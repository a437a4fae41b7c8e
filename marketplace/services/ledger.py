"""The earnings ledger: entries are written once, by key; states move forward only."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import InvalidInput, NotFound, PermissionDenied
from common.money import CURRENCIES, quantize
from contributors.models import User
from marketplace.errors import EntryNotPending
from marketplace.models import EarningEntry, Project, WorkSession

logger = logging.getLogger(__name__)

HOURS = Decimal("0.0001")


def earning_write(
    *,
    idempotency_key: str,
    contributor: User,
    project: Project | None,
    kind: str,
    amount: Decimal,
    currency: str,
    work_date: date,
    source_type: str,
    source_id: str,
    hours: Decimal | None = None,
    rate: Decimal | None = None,
    multiplier: Decimal | None = None,
    active_seconds: int | None = None,
    reason: str = "",
    created_by: User | None = None,
    reverses: EarningEntry | None = None,
    state: str = EarningEntry.State.PENDING,
) -> tuple[EarningEntry, bool]:
    """Write one ledger entry for `idempotency_key`, once: a second call returns the first entry.

    The unique key in the database decides, not a check in Python, so two deliveries of one job
    racing each other still write one entry. Returns (entry, created). An entry written approved
    (a claw-back) is approved now, by `created_by`: a batch pays only entries approved before
    its cut-off.
    """
    approved = state == EarningEntry.State.APPROVED
    try:
        with transaction.atomic():
            entry = EarningEntry.objects.create(
                idempotency_key=idempotency_key,
                contributor=contributor,
                project=project,
                kind=kind,
                amount=quantize(amount),
                currency=currency,
                work_date=work_date,
                source_type=source_type,
                source_id=source_id,
                hours=hours,
                rate=rate,
                multiplier=multiplier,
                active_seconds=active_seconds,
                reason=reason,
                created_by=created_by,
                reverses=reverses,
                state=state,
                approved_at=timezone.now() if approved else None,
                approved_by=created_by if approved else None,
            )
    except IntegrityError:
        existing = EarningEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return existing, False
    logger.info(
        "earning.written", extra={"entry_id": entry.pk, "kind": kind, "key": idempotency_key}
    )
    return entry, True


SESSION_KEY = "session:"  # + the session's id: the idempotency key of its earning


def session_pay(session: WorkSession) -> tuple[Decimal, Decimal]:
    """A closed session's exact hours and its amount in cents: exact to the microsecond,
    rounded once, at the rate and multiplier the session started with."""
    assert session.ended_at is not None
    exact_hours = Decimal(
        (session.ended_at - session.started_at) // timedelta(microseconds=1)
    ) / Decimal(3_600_000_000)
    return exact_hours, quantize(exact_hours * session.rate * session.multiplier)


def earning_from_session(*, session_id: int) -> EarningEntry | None:
    """Turn a closed hourly session into a pending earning, once per session.

    Paid at the rate and multiplier the session started with. Per-task projects pay per
    accepted task instead, so their sessions earn nothing by themselves.
    """
    session = WorkSession.objects.select_related("project", "user").filter(pk=session_id).first()
    if session is None or session.ended_at is None or session.pay_model != "hourly":
        return None
    # Hours are shown to 4 places, money to cents.
    exact_hours, amount = session_pay(session)
    hours = exact_hours.quantize(HOURS)
    if amount <= 0:
        logger.info("earning.session_too_short", extra={"session_id": session.pk})
        return None
    entry, _created = earning_write(
        idempotency_key=f"{SESSION_KEY}{session.pk}",
        contributor=session.user,
        project=session.project,
        kind=EarningEntry.Kind.TIME,
        amount=amount,
        currency=session.currency,
        work_date=timezone.localdate(session.started_at),
        source_type="work_session",
        source_id=str(session.pk),
        hours=hours,
        rate=session.rate,
        multiplier=session.multiplier,
    )
    return entry


def earning_record_task(
    *,
    contributor: User,
    project: Project,
    source_id: str,
    active_seconds: int,
    multiplier: Decimal,
    accepted_at: date | None = None,
) -> EarningEntry:
    """Record the pay for one accepted task of a per-task project, once per task.

    The work that holds tasks (evaluations) calls this when a task's submission is accepted.
    """
    from marketplace.services.projects import task_price

    if project.pay_model != Project.PayModel.PER_TASK:
        raise InvalidInput(f"Project {project.pk} is not paid per task.")
    if active_seconds < 0:
        raise InvalidInput(fields={"active_seconds": ["Cannot be negative."]})
    price = task_price(project)
    entry, _created = earning_write(
        idempotency_key=f"task:{source_id}",
        contributor=contributor,
        project=project,
        kind=EarningEntry.Kind.TASK,
        amount=quantize(price * multiplier),
        currency=project.currency,
        work_date=accepted_at or timezone.localdate(),
        source_type="task",
        source_id=source_id,
        rate=project.pay_rate,
        multiplier=multiplier,
        active_seconds=active_seconds,
    )
    return entry


def earning_record_review(
    *,
    reviewer: User,
    project: Project,
    source_id: str,
    minutes: int,
    multiplier: Decimal,
    decided_at: date | None = None,
) -> EarningEntry:
    """Record the pay for one review: its set minutes at the project's rate and the reviewer's
    multiplier, once per review. Reviews are paid whatever the project's pay model."""
    if minutes <= 0:
        raise InvalidInput(fields={"minutes": ["Must be positive."]})
    entry, _created = earning_write(
        idempotency_key=f"review:{source_id}",
        contributor=reviewer,
        project=project,
        kind=EarningEntry.Kind.REVIEW,
        amount=quantize(project.pay_rate * Decimal(minutes) / Decimal(60) * multiplier),
        currency=project.currency,
        work_date=decided_at or timezone.localdate(),
        source_type="review",
        source_id=source_id,
        rate=project.pay_rate,
        multiplier=multiplier,
        active_seconds=minutes * 60,
    )
    return entry


def earning_for_source(*, kind: str, source_id: str) -> EarningEntry | None:
    """The entry written for a piece of work (e.g. kind task, source "submission:12"), if any."""
    return EarningEntry.objects.filter(idempotency_key=f"{kind}:{source_id}").first()


def earnings_approve(*, entry_ids: list[int], actor: User) -> int:
    """Approve pending entries (in bulk); returns how many moved. Others are left alone."""
    if not actor.has_perm("marketplace.approve_earnings"):
        raise PermissionDenied("Your role may not approve earnings.")
    with transaction.atomic():
        # Own entries are never self-approved.
        count = (
            EarningEntry.objects.filter(pk__in=entry_ids, state=EarningEntry.State.PENDING)
            .exclude(contributor=actor)
            .update(
                state=EarningEntry.State.APPROVED, approved_at=timezone.now(), approved_by=actor
            )
        )
    logger.info("earning.approved", extra={"count": count, "actor_id": actor.pk})
    return count


@transaction.atomic
def earning_reverse(*, entry_id: int, actor: User | None, reason: str) -> EarningEntry:
    """Cancel an entry with a new, negative entry. An unpaid entry leaves the balance; a paid
    one, or one in a payout not yet paid, is clawed back from the next payout by an approved
    negative entry.

    `actor` None is the system acting on a recorded decision (a review's rejection), which
    carries its own who and why; a person needs the right to adjust earnings.
    """
    if actor is not None and not actor.has_perm("marketplace.adjust_earnings"):
        raise PermissionDenied("Your role may not reverse earnings.")
    if not reason.strip():
        raise InvalidInput(fields={"reason": ["This field is required."]})
    owner = EarningEntry.objects.filter(pk=entry_id).values_list("contributor_id", flat=True)
    if not owner:
        raise NotFound(f"Earning entry {entry_id} does not exist.")
    # The contributor's row first: a payout batch being built locks it too, so an entry is
    # never reversed between being summed into a payout and being linked to it.
    User.objects.select_for_update().filter(pk=owner[0]).values_list("pk").first()
    entry = EarningEntry.objects.select_for_update().get(pk=entry_id)
    if entry.kind == EarningEntry.Kind.REVERSAL or entry.state == EarningEntry.State.REVERSED:
        raise EntryNotPending("This entry is already reversed, or is itself a reversal.")
    clawed_back = EarningEntry.objects.filter(reverses=entry).first()
    if clawed_back is not None:
        # Reversed while in a payout: its claw-back stands, even if that payout was then held
        # or rejected and the entry is unpaid again. Cancelling it too would take it twice.
        return clawed_back
    # An entry in a live payout (in review, approved or sent) is on its way to being paid:
    # like a paid one, it is clawed back from the next payout and the payout stays whole.
    paid = (
        entry.state == EarningEntry.State.PAID
        or entry.payout_items.filter(released_at__isnull=True).exists()
    )
    reversal, _created = earning_write(
        idempotency_key=f"reversal:{entry.pk}",
        contributor=entry.contributor,
        project=entry.project,
        kind=EarningEntry.Kind.REVERSAL,
        amount=-entry.amount,
        currency=entry.currency,
        work_date=entry.work_date,
        source_type="earning_entry",
        source_id=str(entry.pk),
        reason=reason.strip(),
        created_by=actor,
        reverses=entry,
        state=EarningEntry.State.APPROVED if paid else EarningEntry.State.REVERSED,
    )
    if not paid:
        EarningEntry.objects.filter(pk=entry.pk).update(state=EarningEntry.State.REVERSED)
    logger.info("earning.reversed", extra={"entry_id": entry.pk, "reversal_id": reversal.pk})
    return reversal


def earning_adjust(
    *,
    contributor: User,
    project: Project | None,
    kind: str,
    amount: Decimal,
    currency: str,
    reason: str,
    actor: User,
    key: str,
) -> EarningEntry:
    """A bonus or an adjustment by staff, with its reason; `key` makes a retried request one."""
    if not actor.has_perm("marketplace.adjust_earnings"):
        raise PermissionDenied("Your role may not add bonuses or adjustments.")
    errors: dict[str, list[str]] = {}
    if kind not in (EarningEntry.Kind.BONUS, EarningEntry.Kind.ADJUSTMENT):
        errors["kind"] = ["Choose bonus or adjustment."]
    if amount is None or amount == 0 or (kind == EarningEntry.Kind.BONUS and amount < 0):
        errors["amount"] = ["A bonus is positive; an adjustment is not zero."]
    if currency not in CURRENCIES:
        errors["currency"] = [f"Choose one of: {', '.join(CURRENCIES)}."]
    if not reason.strip():
        errors["reason"] = ["This field is required."]
    if contributor.pk == actor.pk:
        errors["contributor"] = ["Nobody adjusts their own earnings."]
    if errors:
        raise InvalidInput("Invalid adjustment: " + ", ".join(sorted(errors)), fields=errors)
    entry, _created = earning_write(
        idempotency_key=f"{kind}:{key}",
        contributor=contributor,
        project=project,
        kind=kind,
        amount=amount,
        currency=currency,
        work_date=timezone.localdate(),
        source_type="staff",
        source_id=key,
        reason=reason.strip(),
        created_by=actor,
    )
    return entry
