"""The earnings ledger: once per source, rates as they were, immutable, corrected by new entries."""

import itertools
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from common.errors import PermissionDenied
from contributors.services import standing_set
from marketplace import selectors, services
from marketplace.models import EarningEntry, WorkSession
from marketplace.tasks import earning_from_session_task
from tests.marketplace.helpers import make_project, qualified, staff

pytestmark = pytest.mark.django_db


_slots = itertools.count(1)


def worked(minutes: int, *, rate: str = "30", person=None, project=None) -> WorkSession:
    """A closed session of `minutes`, each in its own slot of the past, later slots later."""
    project = project or make_project(pay_rate=Decimal(rate))
    person = person or qualified("general")
    services.membership_join(project_id=project.pk, user=person)
    start = timezone.now() - timedelta(days=30) + timedelta(hours=3 * next(_slots))
    with time_machine.travel(start, tick=False):
        session = services.session_start(user=person, project_id=project.pk)
    with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
        services.session_stop(session_id=session.pk, user=person)
    return WorkSession.objects.get(pk=session.pk)


def test_a_stopped_session_becomes_one_pending_entry_at_its_rate_and_multiplier() -> None:
    session = worked(90, rate="30")
    entry = services.earning_from_session(session_id=session.pk)
    assert (entry.kind, entry.state, entry.amount, entry.currency) == (
        "time",
        "pending",
        Decimal("45.00"),
        "USD",
    )
    assert (entry.hours, entry.rate, entry.multiplier) == (
        Decimal("1.5000"),
        Decimal("30.00"),
        Decimal("1.00"),
    )
    assert entry.idempotency_key == f"session:{session.pk}"


def test_a_retried_job_writes_the_entry_once() -> None:
    session = worked(60)
    for _ in range(3):
        earning_from_session_task(session.pk)  # the task's function, as a redelivery would run it
    assert EarningEntry.objects.filter(idempotency_key=f"session:{session.pk}").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_deliveries_of_one_session_write_one_entry() -> None:
    session = worked(60)
    barrier = threading.Barrier(6)

    def deliver() -> None:
        try:
            barrier.wait()
            services.earning_from_session(session_id=session.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert EarningEntry.objects.filter(idempotency_key=f"session:{session.pk}").count() == 1


def test_later_rate_floor_and_standing_changes_do_not_rewrite_the_work_done() -> None:
    project = make_project(pay_rate=Decimal("30"))
    person = qualified("general")
    session = worked(60, person=person, project=project)
    services.project_update(project_id=project.pk, actor=staff(), data={"pay_rate": Decimal("50")})
    standing_set(user=person, standing="exceptional", set_by=staff(), reason="Later praise.")
    services.tier_floor_set(
        tier="general", amount=Decimal("25"), currency="USD", actor=staff(), reason="Raise."
    )
    entry = services.earning_from_session(session_id=session.pk)
    assert (entry.amount, entry.rate, entry.multiplier) == (
        Decimal("30.00"),
        Decimal("30.00"),
        Decimal("1.00"),
    )


def test_per_task_sessions_earn_nothing_by_themselves() -> None:
    session = worked(60, project=make_project(pay_model="per_task", task_minutes=6))
    assert services.earning_from_session(session_id=session.pk) is None


def test_an_accepted_task_pays_the_task_price_once() -> None:
    project = make_project(pay_model="per_task", task_minutes=6, pay_rate=Decimal("21"))
    person = qualified("general")
    first = services.earning_record_task(
        contributor=person,
        project=project,
        source_id="sub-1",
        active_seconds=300,
        multiplier=Decimal("1.10"),
    )
    again = services.earning_record_task(
        contributor=person,
        project=project,
        source_id="sub-1",
        active_seconds=300,
        multiplier=Decimal("1.10"),
    )
    assert first == again
    assert (first.kind, first.amount, first.active_seconds) == (
        "task",
        Decimal("2.31"),
        300,
    )  # 2.10 × 1.10


def test_entries_are_immutable_in_python() -> None:
    entry = services.earning_from_session(session_id=worked(60).pk)
    entry.amount = Decimal("1000")
    with pytest.raises(RuntimeError, match="immutable"):
        entry.save()
    with pytest.raises(RuntimeError, match="never deleted"):
        entry.delete()


@pytest.mark.postgres
def test_the_database_refuses_to_change_an_amount_or_delete_an_entry() -> None:
    entry = services.earning_from_session(session_id=worked(60).pk)
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        EarningEntry.objects.filter(pk=entry.pk).update(amount=Decimal("1000"))
    with pytest.raises(DatabaseError, match="never deleted"), transaction.atomic():
        EarningEntry.objects.filter(pk=entry.pk).delete()
    with (
        pytest.raises(DatabaseError, match="cannot move from pending to paid"),
        transaction.atomic(),
    ):
        EarningEntry.objects.filter(pk=entry.pk).update(state="paid", paid_at=timezone.now())
    entry.refresh_from_db()
    assert (entry.amount, entry.state) == (Decimal("30.00"), "pending")


def test_staff_approve_pending_entries_in_bulk_but_never_their_own() -> None:
    approver = staff()
    entries = [services.earning_from_session(session_id=worked(60).pk) for _ in range(2)]
    assert services.earnings_approve(entry_ids=[e.pk for e in entries], actor=approver) == 2
    assert set(EarningEntry.objects.values_list("state", flat=True)) == {"approved"}
    assert services.earnings_approve(entry_ids=[e.pk for e in entries], actor=approver) == 0


def test_contributors_cannot_approve() -> None:
    entry = services.earning_from_session(session_id=worked(60).pk)
    with pytest.raises(PermissionDenied):
        services.earnings_approve(entry_ids=[entry.pk], actor=qualified("general"))


def test_a_reversal_is_a_new_negative_entry_that_takes_the_earning_out_of_the_balance() -> None:
    entry = services.earning_from_session(session_id=worked(60).pk)
    reversal = services.earning_reverse(
        entry_id=entry.pk, actor=staff(), reason="Duplicate session."
    )
    entry.refresh_from_db()
    assert (reversal.kind, reversal.amount, reversal.reverses_id) == (
        "reversal",
        Decimal("-30.00"),
        entry.pk,
    )
    assert (entry.state, reversal.state) == ("reversed", "reversed")
    summary = selectors.earnings_summary(user=entry.contributor)
    assert summary.totals == {
        "pending": Decimal("0.00"),
        "approved": Decimal("0.00"),
        "paid": Decimal("0.00"),
    }


def test_the_summary_gives_totals_by_state_project_and_week() -> None:
    person = qualified("general")
    first = services.earning_from_session(session_id=worked(60, person=person).pk)
    project_b = make_project(title="B", pay_rate=Decimal("30"))
    services.earning_from_session(session_id=worked(30, person=person, project=project_b).pk)
    services.earnings_approve(entry_ids=[first.pk], actor=staff())
    summary = selectors.earnings_summary(user=person)
    assert summary.totals == {
        "pending": Decimal("15.00"),
        "approved": Decimal("30.00"),
        "paid": Decimal("0.00"),
    }
    assert [(row["project"], row["pending"], row["approved"]) for row in summary.by_project] == [
        ("B", Decimal("15.00"), Decimal("0.00")),
        ("Compare answers", Decimal("0.00"), Decimal("30.00")),
    ]
    assert len(summary.by_week) == 12
    assert sum(week["total"] for week in summary.by_week) == Decimal("45.00")


def test_a_bonus_needs_a_reason_and_is_never_for_oneself() -> None:
    from common.errors import InvalidInput

    actor = staff()
    with pytest.raises(InvalidInput) as caught:
        services.earning_adjust(
            contributor=actor,
            project=None,
            kind="bonus",
            amount=Decimal("-5"),
            currency="USD",
            reason="",
            actor=actor,
            key="k",
        )
    assert set(caught.value.fields) == {"amount", "reason", "contributor"}
