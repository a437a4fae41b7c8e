"""Finance review of a batch: approve (with four eyes above the set amount), approve the
unflagged in bulk, hold or reject. Every action is written to the audit log."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from common.errors import InvalidInput, NotFound
from common.jobs import enqueue_on_commit
from contributors.models import User
from marketplace.errors import FourEyesRequired, OwnPayout, PayoutStateConflict
from marketplace.models import EarningEntry, Payout, PayoutAudit, PayoutBatch, PayoutItem
from marketplace.services.payouts.periods import finance_check

logger = logging.getLogger(__name__)

DECIDABLE = (Payout.State.REVIEW, Payout.State.AWAITING_SECOND, Payout.State.APPROVED)
REJECT_ENTRIES = ("return", "reverse")


def _locked_payout(payout_id: int) -> Payout:
    payout = Payout.objects.filter(pk=payout_id).only("contributor_id").first()
    if payout is None:
        raise NotFound(f"Payout {payout_id} does not exist.")
    # The contributor's row first, as the builder and reversals do, then the payout's.
    User.objects.select_for_update().filter(pk=payout.contributor_id).values_list("pk").first()
    locked = (
        Payout.objects.select_for_update(of=("self",)).select_related("batch").get(pk=payout_id)
    )
    if locked.batch.state != PayoutBatch.State.READY:
        raise PayoutStateConflict("This payout's batch is still being built; review it after.")
    return locked


def _notify(payout: Payout, event: str) -> None:
    from marketplace.tasks import payout_notice_send_task

    enqueue_on_commit(payout_notice_send_task, payout.pk, event)


@transaction.atomic
def payout_approve(*, payout_id: int, actor: User) -> Payout:
    """Approve a payout. At or above the four-eyes amount the first approval waits for a second
    one by another finance admin. Nobody approves their own payout."""
    finance_check(actor)
    payout = _locked_payout(payout_id)
    if payout.contributor_id == actor.pk:
        raise OwnPayout()
    now = timezone.now()
    if payout.state == Payout.State.REVIEW and payout.needs_two:
        payout.state = Payout.State.AWAITING_SECOND
        payout.first_approved_by = actor
        payout.first_approved_at = now
        action = "first_approval"
    elif payout.state == Payout.State.REVIEW:
        payout.state = Payout.State.APPROVED
        payout.approved_by = actor
        payout.approved_at = now
        action = "approved"
    elif payout.state == Payout.State.AWAITING_SECOND:
        if payout.first_approved_by_id == actor.pk:
            raise FourEyesRequired(
                "You gave this payout its first approval; a second, different finance admin "
                "must approve it."
            )
        payout.state = Payout.State.APPROVED
        payout.approved_by = actor
        payout.approved_at = now
        action = "second_approval"
    else:
        raise PayoutStateConflict(
            f"This payout is {payout.get_state_display().lower()}; only a payout in review (or "
            "awaiting its second approval) can be approved."
        )
    payout.save(
        update_fields=[
            "state",
            "first_approved_by",
            "first_approved_at",
            "approved_by",
            "approved_at",
        ]
    )
    PayoutAudit.objects.create(
        actor=actor,
        action=action,
        batch_id=payout.batch_id,
        payout=payout,
        data={"amount": str(payout.amount), "currency": payout.currency},
    )
    logger.info("payouts.approved", extra={"payout_id": payout.pk, "action": action})
    return payout


@transaction.atomic
def payouts_approve_unflagged(*, batch_id: int, actor: User) -> dict[str, int]:
    """Approve every unflagged payout of a batch that this admin may approve, in one go.

    Payouts under the four-eyes amount become approved; those at or above it get this admin's
    first approval, or their second when another admin gave the first. Flagged payouts and the
    admin's own are left for one-by-one review. Returns the counts of each.
    """
    finance_check(actor)
    batch = PayoutBatch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(f"Payout batch {batch_id} does not exist.")
    if batch.state != PayoutBatch.State.READY:
        raise PayoutStateConflict("This batch is still being built.")
    now = timezone.now()
    mine = Payout.objects.filter(batch=batch, flagged=False).exclude(contributor=actor)
    single = list(
        mine.filter(state=Payout.State.REVIEW, needs_two=False)
        .select_for_update()
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    first = list(
        mine.filter(state=Payout.State.REVIEW, needs_two=True)
        .select_for_update()
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    second = list(
        mine.filter(state=Payout.State.AWAITING_SECOND)
        .exclude(first_approved_by=actor)
        .select_for_update()
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    Payout.objects.filter(pk__in=single).update(
        state=Payout.State.APPROVED, approved_by=actor, approved_at=now
    )
    Payout.objects.filter(pk__in=first).update(
        state=Payout.State.AWAITING_SECOND, first_approved_by=actor, first_approved_at=now
    )
    Payout.objects.filter(pk__in=second).update(
        state=Payout.State.APPROVED, approved_by=actor, approved_at=now
    )
    PayoutAudit.objects.bulk_create(
        [
            PayoutAudit(actor=actor, action=action, batch=batch, payout_id=pk, at=now)
            for action, ids in (
                ("approved", single),
                ("first_approval", first),
                ("second_approval", second),
            )
            for pk in ids
        ],
        batch_size=1000,
    )
    PayoutAudit.objects.create(
        actor=actor,
        action="bulk_approved",
        batch=batch,
        at=now,
        data={"approved": len(single), "first_approval": len(first), "second": len(second)},
    )
    return {"approved": len(single) + len(second), "awaiting_second": len(first)}


def _shown_state(payout: Payout) -> str:
    if payout.state == Payout.State.APPROVED and payout.dispatch_id:
        return "being sent to the payment provider"
    return payout.get_state_display().lower()


def _release(payout: Payout, now: object) -> list[int]:
    entries = list(
        PayoutItem.objects.filter(payout=payout, released_at__isnull=True).values_list(
            "entry_id", flat=True
        )
    )
    PayoutItem.objects.filter(payout=payout, released_at__isnull=True).update(released_at=now)
    return entries


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(fields={"reason": ["Say why; the contributor and the audit see it."]})
    return reason


@transaction.atomic
def payout_hold(*, payout_id: int, actor: User, reason: str) -> Payout:
    """Hold a payout with a reason: its entries are released and carried to the next batch,
    where the payout is flagged as held before."""
    finance_check(actor)
    reason = _reason(reason)
    payout = _locked_payout(payout_id)
    if payout.contributor_id == actor.pk:
        raise OwnPayout()
    if payout.state not in DECIDABLE or payout.dispatch_id:
        raise PayoutStateConflict(
            f"This payout is {_shown_state(payout)}; only one not yet sent can be held."
        )
    now = timezone.now()
    entries = _release(payout, now)
    payout.state = Payout.State.HELD
    payout.decided_by = actor
    payout.decided_at = now
    payout.reason = reason
    payout.save(update_fields=["state", "decided_by", "decided_at", "reason"])
    PayoutAudit.objects.create(
        actor=actor,
        action="held",
        batch_id=payout.batch_id,
        payout=payout,
        reason=reason,
        data={"entries_released": len(entries)},
    )
    _notify(payout, "held")
    return payout


@transaction.atomic
def payout_reject(*, payout_id: int, actor: User, reason: str, entries: str) -> Payout:
    """Reject a payout with a reason. `entries` "return" puts its entries back in the
    contributor's unpaid balance (a later batch pays them); "reverse" cancels each earning with
    a reversal entry (negative ones, such as earlier claw-backs, go back to the balance)."""
    finance_check(actor)
    reason = _reason(reason)
    if entries not in REJECT_ENTRIES:
        raise InvalidInput(fields={"entries": ["Choose return or reverse."]})
    payout = _locked_payout(payout_id)
    if payout.contributor_id == actor.pk:
        raise OwnPayout()
    if payout.state not in DECIDABLE or payout.dispatch_id:
        raise PayoutStateConflict(
            f"This payout is {_shown_state(payout)}; only one not yet sent can be rejected."
        )
    now = timezone.now()
    released = _release(payout, now)
    reversed_count = 0
    if entries == "reverse":
        from marketplace.services.ledger import earning_reverse

        positive = EarningEntry.objects.filter(
            Q(pk__in=released), ~Q(kind=EarningEntry.Kind.REVERSAL), amount__gt=0
        ).values_list("pk", flat=True)
        for entry_id in positive:
            earning_reverse(
                entry_id=entry_id,
                actor=actor,
                reason=f"Payout {payout.pk} rejected: {reason}",
            )
            reversed_count += 1
    payout.state = Payout.State.REJECTED
    payout.decided_by = actor
    payout.decided_at = now
    payout.reason = reason
    payout.save(update_fields=["state", "decided_by", "decided_at", "reason"])
    PayoutAudit.objects.create(
        actor=actor,
        action="rejected",
        batch_id=payout.batch_id,
        payout=payout,
        reason=reason,
        data={"entries": entries, "released": len(released), "reversed": reversed_count},
    )
    return payout
