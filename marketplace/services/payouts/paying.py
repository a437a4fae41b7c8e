"""Paying approved payouts through a provider, and marking them paid.

A provider takes the approved payouts of a batch and answers, for each, sent (with its
reference) or failed (with the error). `CsvFileProvider` writes them as one CSV file in the
common mass-payout layout (recipient e-mail, amount, currency, reference); another provider
plugs in through the PAYOUT_PROVIDER setting (a dotted path to a class like it). A failed payout
stays approved, with its error and attempt count, and is sent again next time.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string

from common.errors import InvalidInput, NotFound
from contributors.models import User
from marketplace.errors import NothingToSend, PayoutStateConflict, ProviderFailed
from marketplace.models import EarningEntry, Payout, PayoutAudit, PayoutBatch, PayoutDispatch
from marketplace.services.payouts.periods import finance_check

logger = logging.getLogger(__name__)

SEND_STALE = timedelta(minutes=30)  # a reservation without an answer this long is free again
CSV_HEADER = ("recipient_email", "amount", "currency", "reference", "note")


def payout_reference(payout: Payout) -> str:
    return f"EM-{payout.batch_id}-{payout.pk}"


def csv_safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula: leading = + - @ (and tab, CR) quoted."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


@dataclass(frozen=True)
class SendResult:
    payout_id: int
    ok: bool
    reference: str = ""
    error: str = ""


class PayoutProvider(Protocol):
    name: str

    def send(self, dispatch: PayoutDispatch, payouts: list[Payout]) -> list[SendResult]: ...


class CsvFileProvider:
    """Writes the payouts as a mass-payout CSV file for a bank or a payment service's upload,
    and counts them as sent. A payout without a payout e-mail cannot be sent."""

    name = "csv_file"

    def send(self, dispatch: PayoutDispatch, payouts: list[Payout]) -> list[SendResult]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        results = []
        for payout in payouts:
            if not payout.payout_email:
                results.append(
                    SendResult(
                        payout.pk,
                        ok=False,
                        error="The contributor has no payout e-mail; ask them to add one.",
                    )
                )
                continue
            reference = payout_reference(payout)
            writer.writerow(
                [
                    csv_safe(payout.payout_email),
                    f"{payout.amount:.2f}",
                    payout.currency,
                    reference,
                    csv_safe(f"Evaluation work, period ending {payout.batch.cutoff:%Y-%m-%d}"),
                ]
            )
            results.append(SendResult(payout.pk, ok=True, reference=reference))
        if any(result.ok for result in results):
            dispatch.file.save(f"{dispatch.reference}.csv", ContentFile(buffer.getvalue()), False)
        return results


def provider_get() -> PayoutProvider:
    path = getattr(settings, "PAYOUT_PROVIDER", "")
    return import_string(path)() if path else CsvFileProvider()


def payouts_send(*, batch_id: int, actor: User) -> PayoutDispatch:
    """Hand the batch's approved payouts to the provider. Those it takes become sent (and the
    contributor is told); those it refuses stay approved with the error. A provider that fails
    altogether changes nothing but the payouts' error and attempt count.

    The payouts are first reserved for a new dispatch in a short transaction, so that a second
    send at the same time finds nothing to send; the provider is then called with no lock held
    (a real one calls out over the network). A reservation left without an answer for
    SEND_STALE (the process died mid-call) is free again; the payout's reference
    (`payout_reference`) stays the same, so a provider that dedupes by it pays once.
    """
    finance_check(actor)
    provider = provider_get()
    with transaction.atomic():
        batch = PayoutBatch.objects.filter(pk=batch_id).first()
        if batch is None:
            raise NotFound(f"Payout batch {batch_id} does not exist.")
        free = Q(dispatch__isnull=True) | Q(dispatch__created_at__lt=timezone.now() - SEND_STALE)
        payouts = list(
            Payout.objects.select_for_update(of=("self",))
            .select_related("batch")
            .filter(free, batch=batch, state=Payout.State.APPROVED)
            .order_by("pk")
        )
        if not payouts:
            raise NothingToSend()
        dispatch = PayoutDispatch.objects.create(
            batch=batch,
            provider=provider.name,
            reference=f"EM-{batch.pk}-{timezone.now():%Y%m%d%H%M%S}-{get_random_string(4)}",
            created_by=actor,
        )
        Payout.objects.filter(pk__in=[payout.pk for payout in payouts]).update(dispatch=dispatch)
    try:
        results = {result.payout_id: result for result in provider.send(dispatch, payouts)}
    except Exception as error:  # any failure of the provider: the reservation is given back
        failure = f"{type(error).__name__}: {error}"[:2000]
        _send_failed(dispatch, actor, failure)
        raise ProviderFailed(f"The payment provider failed; nothing was sent: {failure}") from error
    return _record_results(dispatch, payouts, results, actor)


@transaction.atomic
def _send_failed(dispatch: PayoutDispatch, actor: User, failure: str) -> None:
    """Free the dispatch's payouts with the error recorded, and drop the dispatch (and any file
    the provider wrote before failing)."""
    reserved = list(
        Payout.objects.select_for_update()
        .filter(dispatch=dispatch, state=Payout.State.APPROVED)
        .order_by("pk")
    )
    for payout in reserved:
        payout.attempts += 1
        payout.last_error = failure
        payout.dispatch = None
        payout.save(update_fields=["attempts", "last_error", "dispatch"])
    PayoutAudit.objects.create(
        actor=actor,
        action="send_failed",
        batch_id=dispatch.batch_id,
        data={"provider": dispatch.provider, "payouts": len(reserved), "error": failure},
    )
    if dispatch.file:
        dispatch.file.delete(save=False)
    dispatch.delete()
    logger.error("payouts.send_failed", extra={"batch_id": dispatch.batch_id, "error": failure})


@transaction.atomic
def _record_results(
    dispatch: PayoutDispatch,
    payouts: list[Payout],
    results: dict[int, SendResult],
    actor: User,
) -> PayoutDispatch:
    from marketplace.services.payouts.review import _notify

    now = timezone.now()
    sent = failed = 0
    audits = []
    # Only what is still reserved for this dispatch is recorded (held and rejected payouts
    # refuse while reserved, so this is every one of them unless the reservation went stale).
    current = list(
        Payout.objects.select_for_update()
        .select_related("batch")
        .filter(pk__in=[payout.pk for payout in payouts], dispatch=dispatch)
        .filter(state=Payout.State.APPROVED)
        .order_by("pk")
    )
    for payout in current:
        result = results.get(payout.pk) or SendResult(
            payout.pk, ok=False, error="The provider gave no answer."
        )
        payout.attempts += 1
        if result.ok:
            payout.state = Payout.State.SENT
            payout.sent_at = now
            payout.dispatch = dispatch
            payout.provider_reference = result.reference
            payout.last_error = ""
            sent += 1
            _notify(payout, "sent")
        else:
            payout.last_error = result.error[:2000]
            payout.dispatch = None  # not sent: free for the next send
            failed += 1
        payout.save(
            update_fields=[
                "state",
                "sent_at",
                "dispatch",
                "provider_reference",
                "last_error",
                "attempts",
            ]
        )
        audits.append(
            PayoutAudit(
                actor=actor,
                action="sent" if result.ok else "send_failed",
                batch_id=payout.batch_id,
                payout=payout,
                at=now,
                reason="" if result.ok else result.error[:2000],
                data={"provider": dispatch.provider, "dispatch": dispatch.reference},
            )
        )
    PayoutAudit.objects.bulk_create(audits, batch_size=1000)
    dispatch.payouts_count = sent
    # The provider may have attached a file (the CSV); its name is saved with the count.
    dispatch.save(update_fields=["payouts_count", "file"])
    logger.info(
        "payouts.sent", extra={"dispatch": dispatch.reference, "sent": sent, "failed": failed}
    )
    return dispatch


@transaction.atomic
def payouts_mark_paid(*, payout_ids: list[int], actor: User) -> int:
    """Mark sent payouts paid (the provider or the bank confirmed them); their ledger entries
    become paid in the same transaction. Anything but a sent payout is refused, all or none."""
    finance_check(actor)
    if not payout_ids:
        raise InvalidInput(fields={"payouts": ["Choose at least one payout."]})
    payouts = list(Payout.objects.select_for_update().filter(pk__in=payout_ids).order_by("pk"))
    missing = set(payout_ids) - {payout.pk for payout in payouts}
    if missing:
        raise NotFound(f"Payouts {sorted(missing)} do not exist.")
    wrong = [payout for payout in payouts if payout.state != Payout.State.SENT]
    if wrong:
        raise PayoutStateConflict(
            "Only sent payouts can be marked paid; "
            + ", ".join(f"payout {p.pk} is {p.get_state_display().lower()}" for p in wrong)
            + "."
        )
    now = timezone.now()
    ids = [payout.pk for payout in payouts]
    entries = EarningEntry.objects.filter(
        payout_items__payout_id__in=ids,
        payout_items__released_at__isnull=True,
        state=EarningEntry.State.APPROVED,
    )
    moved = entries.update(state=EarningEntry.State.PAID, paid_at=now)
    expected = sum(payout.entries_count for payout in payouts)
    if moved != expected:
        raise PayoutStateConflict(
            f"{moved} entries were ready to be paid where the payouts hold {expected}; nothing "
            "was changed. Run the reconciliation."
        )
    Payout.objects.filter(pk__in=ids).update(state=Payout.State.PAID, paid_at=now, paid_by=actor)
    PayoutAudit.objects.bulk_create(
        [
            PayoutAudit(
                actor=actor,
                action="paid",
                batch_id=payout.batch_id,
                payout=payout,
                at=now,
                data={"amount": str(payout.amount), "currency": payout.currency},
            )
            for payout in payouts
        ]
    )
    return len(payouts)
