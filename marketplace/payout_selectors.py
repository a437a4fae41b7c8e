"""Reads of payouts: a contributor's own payouts and statements, and the finance views."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum

from common.errors import NotFound
from common.money import quantize
from contributors.models import User
from marketplace.models import (
    EarningEntry,
    Payout,
    PayoutAudit,
    PayoutBatch,
    PayoutFlag,
    PayoutItem,
    PayPeriod,
)
from marketplace.services.payouts.paying import csv_safe, payout_reference

# What a contributor may see of their payout: never its flags, the approvers or the audit.
CONTRIBUTOR_STATES = {
    "review": "In review",
    "awaiting_second": "In review",
    "approved": "Approved",
    "sent": "Sent",
    "paid": "Paid",
    "held": "On hold",
    "rejected": "Rejected",
}


def contributor_state(payout: Payout) -> str:
    return CONTRIBUTOR_STATES[payout.state]


def payouts_for(*, user: User) -> QuerySet[Payout]:
    """A contributor's own payouts, newest period first."""
    return Payout.objects.filter(contributor=user).select_related("batch__period")


def payout_entries(*, payout: Payout) -> QuerySet[EarningEntry]:
    """The ledger entries a payout pays (or paid, or, once held or rejected, held back)."""
    return (
        EarningEntry.objects.filter(payout_items__payout=payout)
        .select_related("project")
        .order_by("work_date", "id")
    )


def payout_for(*, user: User, payout_id: int) -> Payout:
    """One of the contributor's own payouts; anyone else's is not found."""
    payout = payouts_for(user=user).filter(pk=payout_id).first()
    if payout is None:
        raise NotFound(f"Payout {payout_id} not found.")
    return payout


@dataclass
class Statement:
    period: PayPeriod
    entries: list[EarningEntry]
    payouts: list[Payout]
    approved_total: dict[str, Decimal]
    paid_out: dict[str, Decimal]  # sent or paid
    in_review: dict[str, Decimal]  # built, not yet sent
    periods: list[PayPeriod]


def statement_for(*, user: User, period_id: int | None = None) -> Statement:
    """A contributor's statement of one period (default: the last closed one): the earnings
    approved in it, each with the payout that pays it, and the payouts of its batch."""
    approved_in = EarningEntry.objects.filter(
        contributor=user,
        approved_at__gte=OuterRef("starts_at"),
        approved_at__lt=OuterRef("ends_at"),
    )
    paid_in = Payout.objects.filter(contributor=user, batch__period=OuterRef("pk"))
    periods = list(
        PayPeriod.objects.filter(Exists(approved_in) | Exists(paid_in)).order_by("-starts_at")[:104]
    )
    if period_id is None:
        if not periods:
            raise NotFound("No statement yet: nothing was approved in a pay period.")
        period = periods[0]
    else:
        period = PayPeriod.objects.filter(pk=period_id).first()
        if period is None:
            raise NotFound(f"Pay period {period_id} not found.")
    live = Prefetch(
        "payout_items",
        queryset=PayoutItem.objects.select_related("payout").order_by("-id"),
        to_attr="links",
    )
    entries = list(
        EarningEntry.objects.filter(
            contributor=user, approved_at__gte=period.starts_at, approved_at__lt=period.ends_at
        )
        .select_related("project")
        .prefetch_related(live)
        .order_by("approved_at", "id")
    )
    for entry in entries:
        current = next((link for link in entry.links if link.released_at is None), None)
        entry.payout = current.payout if current else None
    payouts = list(
        Payout.objects.filter(contributor=user, batch__period=period).order_by("currency")
    )
    approved: dict[str, Decimal] = {}
    for entry in entries:
        approved[entry.currency] = approved.get(entry.currency, Decimal(0)) + entry.amount
    paid_out: dict[str, Decimal] = {}
    in_review: dict[str, Decimal] = {}
    for payout in payouts:
        if payout.state in ("sent", "paid"):
            paid_out[payout.currency] = paid_out.get(payout.currency, Decimal(0)) + payout.amount
        elif payout.state in ("review", "awaiting_second", "approved"):
            in_review[payout.currency] = in_review.get(payout.currency, Decimal(0)) + payout.amount
    return Statement(
        period=period,
        entries=entries,
        payouts=payouts,
        approved_total={k: quantize(v) for k, v in approved.items()},
        paid_out={k: quantize(v) for k, v in paid_out.items()},
        in_review={k: quantize(v) for k, v in in_review.items()},
        periods=periods,
    )


STATEMENT_HEADER = (
    "approved_at",
    "work_date",
    "project",
    "kind",
    "description",
    "amount",
    "currency",
    "state",
    "payout_reference",
)


def statement_csv(statement: Statement) -> Iterator[str]:
    """The statement as CSV rows (text cells made safe against spreadsheet formulas)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(STATEMENT_HEADER)
    yield flush()
    for entry in statement.entries:
        payout = entry.payout
        writer.writerow(
            [
                entry.approved_at.isoformat() if entry.approved_at else "",
                entry.work_date.isoformat(),
                csv_safe(entry.project.title if entry.project else ""),
                entry.kind,
                csv_safe(entry.reason),
                f"{entry.amount:.2f}",
                entry.currency,
                entry.state,
                payout_reference(payout) if payout else "",
            ]
        )
        yield flush()


# Finance: batches and payouts with their totals, flags and evidence.


def batches_overview() -> QuerySet[PayoutBatch]:
    return PayoutBatch.objects.select_related("period").annotate(
        payouts_count=Count("payouts", distinct=True),
        flagged_count=Count("payouts", filter=Q(payouts__flagged=True), distinct=True),
    )


def batch_totals(*, batch: PayoutBatch) -> list[dict[str, Any]]:
    """Per currency and state: payouts and their sum."""
    return list(
        Payout.objects.filter(batch=batch)
        .values("currency", "state")
        .annotate(count=Count("id"), total=Sum("amount"))
        .order_by("currency", "state")
    )


def payouts_in_batch(
    *,
    batch: PayoutBatch,
    state: str | None = None,
    flagged: bool | None = None,
    flag: str | None = None,
) -> QuerySet[Payout]:
    payouts = (
        Payout.objects.filter(batch=batch)
        .select_related("contributor")
        .prefetch_related("flags")
        .order_by("-flagged", "-amount", "pk")
    )
    if state:
        payouts = payouts.filter(state=state)
    if flagged is not None:
        payouts = payouts.filter(flagged=flagged)
    if flag:
        payouts = payouts.filter(flags__code=flag)
    return payouts


def payout_audit(*, payout: Payout) -> QuerySet[PayoutAudit]:
    return PayoutAudit.objects.filter(payout=payout).select_related("actor").order_by("at", "id")


def payout_flags(*, payout: Payout) -> QuerySet[PayoutFlag]:
    return payout.flags.all()
