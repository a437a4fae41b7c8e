"""Payout batches: building, flags, four eyes, hold and reject, paying, reconciliation."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from common.errors import InvalidInput
from marketplace.errors import (
    FourEyesRequired,
    NothingToSend,
    OwnPayout,
    PayoutStateConflict,
    PeriodOpen,
)
from marketplace.models import (
    EarningEntry,
    Payout,
    PayoutAudit,
    PayoutBatch,
    PayoutItem,
    PayPeriod,
)
from marketplace.services import ledger
from marketplace.services.payouts import (
    batch_build,
    ledger_reconcile,
    payout_approve,
    payout_hold,
    payout_reject,
    payout_settings_update,
    payouts_approve_unflagged,
    payouts_mark_paid,
    payouts_send,
)
from tests.marketplace.payout_helpers import closed_period, earn, earner, finance

pytestmark = pytest.mark.django_db


def _live(payout: Payout) -> set[int]:
    return set(
        PayoutItem.objects.filter(payout=payout, released_at__isnull=True).values_list(
            "entry_id", flat=True
        )
    )


def test_a_batch_pays_each_balance_once_with_exactly_its_entries():
    alice, bob, carol = earner(), earner(), earner()
    a1, a2 = earn(alice, "30.00"), earn(alice, "12.50")
    b1 = earn(bob, "40.00", currency="EUR")
    b2 = earn(bob, "15.00")  # USD, its own payout
    earn(carol, "4.00")  # under the 10.00 minimum: carried
    late = earn(alice, "99.00", approved_at=timezone.now())  # after the cut-off
    pending = earn(alice, "5.00", state="pending")
    period = closed_period()

    batch = batch_build(period_id=period.pk)

    assert batch.state == PayoutBatch.State.READY
    payouts = {(p.contributor_id, p.currency): p for p in batch.payouts.all()}
    assert set(payouts) == {(alice.pk, "USD"), (bob.pk, "EUR"), (bob.pk, "USD")}
    assert payouts[alice.pk, "USD"].amount == Decimal("42.50")
    assert _live(payouts[alice.pk, "USD"]) == {a1.pk, a2.pk}
    assert _live(payouts[bob.pk, "EUR"]) == {b1.pk}
    assert _live(payouts[bob.pk, "USD"]) == {b2.pk}
    assert not PayoutItem.objects.filter(entry__in=[late, pending]).exists()
    assert batch.carried_count == 1
    assert batch.carried == {"USD": "4.00"}
    assert payouts[alice.pk, "USD"].payout_email == alice.profile.payout_email


def test_building_twice_makes_the_same_batch_once():
    person = earner()
    earn(person, "20.00")
    period = closed_period()
    first = batch_build(period_id=period.pk)
    again = batch_build(period_id=period.pk)
    assert first.pk == again.pk
    assert Payout.objects.count() == 1
    assert PayoutItem.objects.count() == 1
    assert PayoutAudit.objects.filter(action="batch_built").count() == 1


def test_a_build_stopped_halfway_resumes_without_doubling(monkeypatch, settings):
    from marketplace.services.payouts import build

    people = [earner() for _ in range(5)]
    for person in people:
        earn(person, "25.00")
    period = closed_period()
    settings.PAYOUT_BUILD_CHUNK = 2
    real = build._build_chunk
    calls = {"n": 0}

    def dies_on_the_third_chunk(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise SystemExit("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(build, "_build_chunk", dies_on_the_third_chunk)
    with pytest.raises(SystemExit):
        batch_build(period_id=period.pk)
    batch = PayoutBatch.objects.get(period=period)
    assert batch.state == PayoutBatch.State.BUILDING
    done = batch.payouts.count()
    assert 0 < done < 5
    monkeypatch.setattr(build, "_build_chunk", real)
    batch = batch_build(period_id=period.pk)
    assert batch.state == PayoutBatch.State.READY
    assert sorted(batch.payouts.values_list("contributor_id", flat=True)) == sorted(
        p.pk for p in people
    )
    assert PayoutItem.objects.count() == 5
    assert ledger_reconcile() == []


def test_a_chunk_whose_links_miss_an_entry_is_refused_and_rolled_back(monkeypatch):
    """The build's guard: a payout is exactly the entries it links. Links that leave out an
    entry summed into a payout (here the link statement is made to skip the small ones) refuse
    the chunk, naming the payout, and nothing of it stays."""
    from marketplace.services.payouts import build

    person = earner()
    earn(person, "20.00")
    earn(person, "5.00")
    period = closed_period()
    skipping = build.LINK_SQL.replace(
        "ON CONFLICT DO NOTHING", "AND c.amount > 10 ON CONFLICT DO NOTHING"
    )
    assert skipping != build.LINK_SQL
    monkeypatch.setattr(build, "LINK_SQL", skipping)

    with pytest.raises(
        RuntimeError, match=r"Linked 1 entries where 2 were summed; payouts \[\d+\]"
    ):
        batch_build(period_id=period.pk)
    batch = PayoutBatch.objects.get(period=period)
    assert (batch.state, batch.cursor) == (PayoutBatch.State.BUILDING, 0)
    assert not Payout.objects.exists()
    assert not PayoutItem.objects.exists()


def test_an_open_period_and_an_unbuilt_earlier_one_are_refused():
    now = timezone.now()
    open_period = PayPeriod.objects.create(
        starts_at=now - timedelta(days=2), ends_at=now + timedelta(days=5), time_zone="UTC"
    )
    with pytest.raises(PeriodOpen):
        batch_build(period_id=open_period.pk)
    older = closed_period(days_ago=9)
    newer = closed_period(days_ago=2)
    with pytest.raises(PeriodOpen, match="earlier period"):
        batch_build(period_id=newer.pk)
    assert not PayoutBatch.objects.exists()
    batch_build(period_id=older.pk)
    batch_build(period_id=newer.pk)
    assert PayoutBatch.objects.count() == 2


def test_four_eyes_above_the_amount_and_never_ones_own():
    admin, second = finance(), finance()
    big, small = earner(), earner()
    earn(big, "1500.00")
    earn(small, "50.00")
    batch = batch_build(period_id=closed_period().pk)
    large = batch.payouts.get(contributor=big)
    assert large.needs_two
    large = payout_approve(payout_id=large.pk, actor=admin)
    assert large.state == Payout.State.AWAITING_SECOND
    with pytest.raises(FourEyesRequired):
        payout_approve(payout_id=large.pk, actor=admin)
    assert Payout.objects.get(pk=large.pk).state == Payout.State.AWAITING_SECOND
    large = payout_approve(payout_id=large.pk, actor=second)
    assert large.state == Payout.State.APPROVED
    assert (large.first_approved_by, large.approved_by) == (admin, second)
    with pytest.raises(PayoutStateConflict):
        payout_approve(payout_id=large.pk, actor=second)

    # A finance admin who also earned is never their own approver, not even in bulk.
    earn(admin, "30.00", approved_at=timezone.now() - timedelta(hours=30))
    mine = batch_build(period_id=closed_period(days_ago=0, length=1).pk).payouts.get(
        contributor=admin
    )
    with pytest.raises(OwnPayout):
        payout_approve(payout_id=mine.pk, actor=admin)
    payouts_approve_unflagged(batch_id=mine.batch_id, actor=admin)
    assert Payout.objects.get(pk=mine.pk).state == Payout.State.REVIEW


def test_the_database_refuses_a_single_approval_above_the_amount():
    from django.db import IntegrityError

    admin = finance()
    person = earner()
    earn(person, "2000.00")
    payout = batch_build(period_id=closed_period().pk).payouts.get()
    with pytest.raises(IntegrityError):
        Payout.objects.filter(pk=payout.pk).update(
            state="approved", approved_by=admin, approved_at=timezone.now()
        )


def test_bulk_approval_leaves_flagged_payouts_for_review():
    admin = finance()
    veteran, newcomer = earner(), earner()
    earn(veteran, "20.00", approved_at=timezone.now() - timedelta(days=20))
    old = batch_build(period_id=closed_period(days_ago=15).pk)
    old_payout = old.payouts.get()
    # Its first payout is flagged (first payout), so approve it one by one.
    assert old_payout.flagged
    payout_approve(payout_id=old_payout.pk, actor=admin)
    earn(veteran, "22.00")
    earn(newcomer, "22.00")
    batch = batch_build(period_id=closed_period().pk)
    counts = payouts_approve_unflagged(batch_id=batch.pk, actor=admin)
    assert counts == {"approved": 1, "awaiting_second": 0}
    assert batch.payouts.get(contributor=veteran).state == Payout.State.APPROVED
    fresh = batch.payouts.get(contributor=newcomer)
    assert fresh.state == Payout.State.REVIEW
    assert set(fresh.flags.values_list("code", flat=True)) == {"first_payout"}


def test_a_hold_carries_the_entries_to_the_next_batch_with_the_reason(
    django_capture_on_commit_callbacks,
):
    admin = finance()
    person = earner()
    entry = earn(person, "60.00", approved_at=timezone.now() - timedelta(days=9))
    first = batch_build(period_id=closed_period(days_ago=8).pk).payouts.get()
    with django_capture_on_commit_callbacks(execute=True):
        held = payout_hold(payout_id=first.pk, actor=admin, reason="Payout e-mail bounced")
    assert held.state == Payout.State.HELD
    assert _live(held) == set()
    assert EarningEntry.objects.get(pk=entry.pk).state == "approved"
    assert mail.outbox
    assert "on hold" in mail.outbox[-1].subject
    assert "Payout e-mail bounced" in mail.outbox[-1].body
    second = batch_build(period_id=closed_period().pk).payouts.get()
    assert _live(second) == {entry.pk}
    flag = second.flags.get(code="held_before")
    assert flag.evidence["reason"] == "Payout e-mail bounced"
    assert ledger_reconcile() == []


@pytest.mark.parametrize(
    ("choice", "state_after"), [("return", "approved"), ("reverse", "reversed")]
)
def test_a_rejection_returns_or_reverses_the_entries(choice, state_after):
    admin = finance()
    person = earner()
    entries = [earn(person, "15.00"), earn(person, "25.00")]
    payout = batch_build(period_id=closed_period().pk).payouts.get()
    with pytest.raises(InvalidInput) as error:
        payout_reject(payout_id=payout.pk, actor=admin, reason=" ", entries=choice)
    assert set(error.value.fields) == {"reason"}
    assert Payout.objects.get(pk=payout.pk).state == Payout.State.REVIEW
    rejected = payout_reject(payout_id=payout.pk, actor=admin, reason="Fraud check", entries=choice)
    assert rejected.state == Payout.State.REJECTED
    assert _live(rejected) == set()
    for entry in entries:
        assert EarningEntry.objects.get(pk=entry.pk).state == state_after
    reversals = EarningEntry.objects.filter(kind="reversal", contributor=person)
    assert reversals.count() == (2 if choice == "reverse" else 0)
    audit = PayoutAudit.objects.get(payout=payout, action="rejected")
    assert audit.actor == admin
    assert audit.reason == "Fraud check"
    assert ledger_reconcile() == []


def test_paying_sends_the_csv_then_marks_entries_paid_in_one_step(
    django_capture_on_commit_callbacks,
):
    admin = finance()
    person, other = earner(), earner(payout_email="")
    entries = [earn(person, "11.00"), earn(person, "9.00")]
    earn(other, "30.00")
    batch = batch_build(period_id=closed_period().pk)
    payout = batch.payouts.get(contributor=person)
    stuck = batch.payouts.get(contributor=other)
    with pytest.raises(NothingToSend):
        payouts_send(batch_id=batch.pk, actor=admin)
    with pytest.raises(PayoutStateConflict):
        payouts_mark_paid(payout_ids=[payout.pk], actor=admin)
    for item in (payout, stuck):
        payout_approve(payout_id=item.pk, actor=admin)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch = payouts_send(batch_id=batch.pk, actor=admin)
    payout.refresh_from_db()
    stuck.refresh_from_db()
    assert payout.state == Payout.State.SENT
    assert payout.provider_reference
    assert stuck.state == Payout.State.APPROVED
    assert "payout e-mail" in stuck.last_error
    assert stuck.attempts == 1
    with dispatch.file.open("rb") as handle:
        rows = handle.read().decode().splitlines()
    assert rows[0] == "recipient_email,amount,currency,reference,note"
    assert rows[1].startswith(
        f"{person.profile.payout_email},20.00,USD,{payout.provider_reference},"
    )
    assert len(rows) == 2
    assert any("on its way" in message.subject for message in mail.outbox)
    assert {e.state for e in EarningEntry.objects.filter(pk__in=[e.pk for e in entries])} == {
        "approved"
    }
    payouts_mark_paid(payout_ids=[payout.pk], actor=admin)
    payout.refresh_from_db()
    assert payout.state == Payout.State.PAID
    assert {e.state for e in EarningEntry.objects.filter(pk__in=[e.pk for e in entries])} == {
        "paid"
    }
    with pytest.raises(PayoutStateConflict):
        payouts_mark_paid(payout_ids=[payout.pk], actor=admin)
    assert ledger_reconcile() == []


def test_a_failing_provider_leaves_payouts_approved_and_retryable(settings):
    admin = finance()
    person = earner()
    earn(person, "20.00")
    batch = batch_build(period_id=closed_period().pk)
    payout = payout_approve(payout_id=batch.payouts.get().pk, actor=admin)
    settings.PAYOUT_PROVIDER = "tests.marketplace.test_payouts.BrokenProvider"
    from marketplace.errors import ProviderFailed

    with pytest.raises(ProviderFailed, match="bank is down"):
        payouts_send(batch_id=batch.pk, actor=admin)
    payout.refresh_from_db()
    assert payout.state == Payout.State.APPROVED
    assert payout.attempts == 1
    assert "bank is down" in payout.last_error
    assert not batch.dispatches.exists()
    settings.PAYOUT_PROVIDER = ""
    payouts_send(batch_id=batch.pk, actor=admin)
    payout.refresh_from_db()
    assert payout.state == Payout.State.SENT
    assert payout.attempts == 2
    assert not payout.last_error


class BrokenProvider:
    name = "broken"

    def send(self, dispatch, payouts):
        raise ConnectionError("bank is down")


def test_reversing_an_entry_inside_a_payout_claws_it_back_next_time():
    admin = finance()
    person = earner()
    entry = earn(person, "50.00", approved_at=timezone.now() - timedelta(days=4))
    payout = batch_build(period_id=closed_period(days_ago=3).pk).payouts.get()
    reversal = ledger.earning_reverse(entry_id=entry.pk, actor=admin, reason="Rejected in review")
    assert reversal.state == "approved"
    assert reversal.amount == Decimal("-50.00")
    assert EarningEntry.objects.get(pk=entry.pk).state == "approved"
    assert _live(payout) == {entry.pk}
    assert ledger_reconcile() == []


def test_finance_only():
    from common.errors import PermissionDenied
    from tests.contributors.factories import UserFactory

    person = earner()
    earn(person, "20.00")
    period = closed_period()
    for user in (person, UserFactory(roles=("staff",), is_staff=True)):
        with pytest.raises(PermissionDenied):
            batch_build(period_id=period.pk, actor=user)
    payout = batch_build(period_id=period.pk).payouts.get()
    with pytest.raises(PermissionDenied):
        payout_approve(payout_id=payout.pk, actor=person)


def test_settings_changes_are_validated_and_audited():
    from common.errors import InvalidInput

    admin = finance()
    with pytest.raises(InvalidInput) as error:
        payout_settings_update(actor=admin, cutoff_day=31, time_zone="Mars/Base")
    assert set(error.value.fields) == {"cutoff_day", "time_zone"}
    payout_settings_update(actor=admin, minimum_amount=Decimal("25.00"))
    assert PayoutAudit.objects.filter(action="settings_changed").count() == 1


def test_reconciliation_catches_a_broken_ledger():
    admin = finance()
    person = earner()
    earn(person, "20.00")
    batch = batch_build(period_id=closed_period().pk)
    payout = payout_approve(payout_id=batch.payouts.get().pk, actor=admin)
    payouts_send(batch_id=batch.pk, actor=admin)
    payouts_mark_paid(payout_ids=[payout.pk], actor=admin)
    assert ledger_reconcile() == []
    stray = earn(person, "7.00")
    # Break it behind the services' back: an amount that no longer adds up, and an entry paid
    # outside any payout.
    Payout.objects.filter(pk=payout.pk).update(amount=Decimal("21.00"))
    EarningEntry.objects.filter(pk=stray.pk).update(state="paid", paid_at=timezone.now())
    rules = {item.rule for item in ledger_reconcile()}
    assert rules == {"payout_amount_differs_from_entries", "paid_entry_not_in_one_paid_payout"}


@pytest.mark.postgres  # the guards are PostgreSQL triggers
def test_the_audit_log_and_paid_links_cannot_be_rewritten():
    from django.db import DatabaseError, transaction

    person = earner()
    earn(person, "20.00")
    batch_build(period_id=closed_period().pk)
    audit = PayoutAudit.objects.first()
    with pytest.raises(DatabaseError), transaction.atomic():
        PayoutAudit.objects.filter(pk=audit.pk).update(reason="edited")
    with pytest.raises(DatabaseError), transaction.atomic():
        PayoutItem.objects.all().delete()


@pytest.mark.postgres  # the guards are PostgreSQL triggers
def test_a_linked_entry_cannot_be_deleted_and_a_link_to_no_entry_is_reported():
    """Payout items have no foreign key constraint to the ledger (it cost the build a row lock
    per entry); the ledger's guard and the reconciliation cover what it guarded."""
    from django.db import DatabaseError, connection, transaction

    person = earner()
    entry = earn(person, "20.00")
    batch = batch_build(period_id=closed_period().pk)
    # Past the ORM's PROTECT, as a stray script would.
    with (
        pytest.raises(DatabaseError, match="never deleted"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM marketplace_earningentry WHERE id = %s", [entry.pk])
    assert ledger_reconcile() == []
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO marketplace_payoutitem (payout_id, entry_id) VALUES (%s, %s)",
            [batch.payouts.get().pk, entry.pk + 10_000],
        )
    rules = {item.rule for item in ledger_reconcile()}
    assert rules == {"payout_amount_differs_from_entries"}


class RefusingProvider:
    """Holds the payout being sent while the provider is at work: the hold must be refused."""

    name = "refusing"

    def send(self, dispatch, payouts):
        from marketplace.services.payouts.paying import SendResult

        admin = finance()
        for payout in payouts:
            with pytest.raises(PayoutStateConflict, match="being sent"):
                payout_hold(payout_id=payout.pk, actor=admin, reason="Too late")
        return [SendResult(p.pk, ok=True, reference=f"R-{p.pk}") for p in payouts]


def test_a_payout_being_sent_is_reserved_and_no_lock_is_held_meanwhile(settings):
    admin = finance()
    person = earner()
    earn(person, "20.00")
    batch = batch_build(period_id=closed_period().pk)
    payout = payout_approve(payout_id=batch.payouts.get().pk, actor=admin)
    settings.PAYOUT_PROVIDER = "tests.marketplace.test_payouts.RefusingProvider"
    dispatch = payouts_send(batch_id=batch.pk, actor=admin)
    payout.refresh_from_db()
    assert payout.state == Payout.State.SENT
    assert payout.dispatch_id == dispatch.pk
    with pytest.raises(NothingToSend):
        payouts_send(batch_id=batch.pk, actor=admin)


def test_a_claw_back_is_taken_from_the_next_payout():
    admin = finance()
    person = earner()
    entry = earn(person, "50.00", approved_at=timezone.now() - timedelta(days=9))
    first = batch_build(period_id=closed_period(days_ago=8).pk).payouts.get()
    clawback = ledger.earning_reverse(entry_id=entry.pk, actor=admin, reason="Rejected late")
    # Written approved now, by the one who reversed: the next batch after now pays it.
    assert clawback.approved_at is not None
    assert clawback.approved_by == admin
    earn(person, "80.00", approved_at=timezone.now() - timedelta(minutes=1))
    period = PayPeriod.objects.create(
        starts_at=first.batch.cutoff, ends_at=timezone.now() + timedelta(seconds=1), time_zone="UTC"
    )
    time.sleep(1.1)  # the period must be closed before its batch is built
    second = batch_build(period_id=period.pk).payouts.get()
    assert second.amount == Decimal("30.00")
    assert clawback.pk in _live(second)
    assert ledger_reconcile() == []
