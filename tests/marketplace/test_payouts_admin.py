"""The finance review of payouts in the admin, driven through the test client: every action
goes through the services, and every refusal comes back as a message."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from marketplace.models import (
    EarningEntry,
    Payout,
    PayoutAudit,
    PayoutBatch,
    PayoutDispatch,
    PayoutSettings,
)
from marketplace.services.payouts import batch_build, payout_approve, payouts_send
from tests.contributors.factories import UserFactory
from tests.marketplace.payout_helpers import closed_period, earn, earner, finance

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:marketplace_payout_changelist")


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _action(client, action: str, payouts: list[Payout], **data):
    """Choose an action for these payouts on the changelist, as its form does."""
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [p.pk for p in payouts], "index": "0", **data},
        follow=True,
    )


def _confirm(client, action: str, payouts: list[Payout], **data):
    """Answer an action's intermediate page (the reason) for these payouts."""
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [p.pk for p in payouts], "apply": "1", **data},
        follow=True,
    )


def _veteran(admin) -> object:
    """A contributor with an approved payout in an earlier batch: not a first payout any more."""
    person = earner()
    earn(person, "20.00", approved_at=timezone.now() - timedelta(days=20))
    old = batch_build(period_id=closed_period(days_ago=15).pk)
    payout_approve(payout_id=old.payouts.get().pk, actor=admin)
    return person


def test_hold_asks_for_a_reason_and_records_it(client):
    admin = finance()
    person = earner()
    earn(person, "40.00")
    payout = batch_build(period_id=closed_period().pk).payouts.get()
    client.force_login(admin)

    asked = _action(client, "hold_selected", [payout])
    assert asked.status_code == 200
    assert b"Hold 1 payout" in asked.content
    assert person.email.encode() in asked.content

    empty = _confirm(client, "hold_selected", [payout], reason="   ")
    assert b"This field is required." in empty.content
    assert Payout.objects.get(pk=payout.pk).state == Payout.State.REVIEW

    done = _confirm(client, "hold_selected", [payout], reason="Bank details look wrong")
    assert _messages(done) == ["Held 1 payout."]
    held = Payout.objects.get(pk=payout.pk)
    assert (held.state, held.reason, held.decided_by) == ("held", "Bank details look wrong", admin)
    audit = PayoutAudit.objects.get(payout=payout, action="held")
    assert (audit.actor, audit.reason) == (admin, "Bank details look wrong")


def test_reject_with_reverse_cancels_the_earnings(client):
    admin = finance()
    person = earner()
    entries = [earn(person, "15.00"), earn(person, "25.00")]
    payout = batch_build(period_id=closed_period().pk).payouts.get()
    client.force_login(admin)

    asked = _action(client, "reject_selected", [payout])
    assert b"Reverse them" in asked.content
    done = _confirm(
        client, "reject_selected", [payout], reason="Work was copied", entries="reverse"
    )

    assert _messages(done) == ["Rejected 1 payout."]
    assert Payout.objects.get(pk=payout.pk).state == Payout.State.REJECTED
    assert {e.state for e in EarningEntry.objects.filter(pk__in=[e.pk for e in entries])} == {
        "reversed"
    }
    audit = PayoutAudit.objects.get(payout=payout, action="rejected")
    assert (audit.actor, audit.reason) == (admin, "Work was copied")
    assert audit.data == {"entries": "reverse", "released": 2, "reversed": 2}


def test_bulk_approval_leaves_the_flagged_payouts_in_review(client):
    admin = finance()
    veteran, newcomer = _veteran(admin), earner()
    earn(veteran, "22.00")
    earn(newcomer, "30.00")
    batch = batch_build(period_id=closed_period().pk)
    client.force_login(admin)

    response = client.post(
        reverse("admin:marketplace_payoutbatch_approve_unflagged", args=[batch.pk]), follow=True
    )

    assert _messages(response) == [
        "Approved 1 unflagged payout. 1 payout left in review (flagged, or your own)."
    ]
    assert batch.payouts.get(contributor=veteran).state == Payout.State.APPROVED
    fresh = batch.payouts.get(contributor=newcomer)
    assert (fresh.state, fresh.flagged) == (Payout.State.REVIEW, True)
    assert PayoutAudit.objects.filter(batch=batch, action="bulk_approved", actor=admin).exists()


def test_the_bulk_action_on_payouts_approves_their_batch_too(client):
    admin = finance()
    veteran, newcomer = _veteran(admin), earner()
    earn(veteran, "22.00")
    earn(newcomer, "30.00")
    batch = batch_build(period_id=closed_period().pk)
    flagged = batch.payouts.get(contributor=newcomer)
    client.force_login(admin)

    _action(client, "approve_unflagged", [flagged])

    assert batch.payouts.get(contributor=veteran).state == Payout.State.APPROVED
    assert batch.payouts.get(contributor=newcomer).state == Payout.State.REVIEW


def test_four_eyes_refusal_is_shown_as_a_message(client):
    admin, second = finance(), finance()
    person = earner()
    earn(person, "1500.00")
    payout = batch_build(period_id=closed_period().pk).payouts.get()
    client.force_login(admin)

    first = _action(client, "approve_selected", [payout])
    assert "second, different finance admin" in _messages(first)[0]
    assert Payout.objects.get(pk=payout.pk).state == Payout.State.AWAITING_SECOND

    again = _action(client, "approve_selected", [payout])
    assert again.status_code == 200
    assert _messages(again) == [
        f"Payout {payout.pk} ({person.email}, 1500.00 USD): You gave this payout its first "
        "approval; a second, different finance admin must approve it."
    ]
    assert Payout.objects.get(pk=payout.pk).state == Payout.State.AWAITING_SECOND

    client.force_login(second)
    _action(client, "approve_selected", [payout])
    approved = Payout.objects.get(pk=payout.pk)
    assert (approved.state, approved.first_approved_by, approved.approved_by) == (
        "approved",
        admin,
        second,
    )


def test_a_staff_member_without_the_finance_role_cannot_open_payouts(client):
    person = earner()
    earn(person, "40.00")
    batch_build(period_id=closed_period().pk)
    client.force_login(UserFactory(roles=("staff",), is_staff=True))

    assert client.get(CHANGELIST).status_code == 403
    assert client.get(reverse("admin:marketplace_payoutbatch_changelist")).status_code == 403


def test_a_staff_member_who_may_only_look_cannot_act(client):
    admin = finance()
    person = earner()
    earn(person, "40.00")
    batch = batch_build(period_id=closed_period().pk)
    payout = batch.payouts.get()
    payout_approve(payout_id=payout.pk, actor=admin)
    onlooker = UserFactory(roles=("staff",), is_staff=True)
    onlooker.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="marketplace",
            codename__in=["view_payout", "view_payoutbatch", "view_payoutdispatch"],
        )
    )
    client.force_login(onlooker)

    listing = client.get(CHANGELIST)
    assert listing.status_code == 200
    assert b"Hold selected payouts" not in listing.content
    ignored = _action(client, "hold_selected", [payout])  # no actions are offered: a no-op
    assert ignored.status_code == 200
    assert Payout.objects.get(pk=payout.pk).state == Payout.State.APPROVED
    page = client.get(reverse("admin:marketplace_payoutbatch_change", args=[batch.pk]))
    assert b"Approve all unflagged payouts" not in page.content
    sent = client.post(reverse("admin:marketplace_payoutbatch_send", args=[batch.pk]), follow=True)
    assert _messages(sent) == ["Only finance admins review and pay payouts."]
    assert Payout.objects.get(pk=payout.pk).state == Payout.State.APPROVED
    assert not PayoutDispatch.objects.exists()


def test_sending_offers_the_csv_and_it_downloads(client, django_capture_on_commit_callbacks):
    admin = finance()
    person = earner()
    earn(person, "11.00")
    earn(person, "9.00")
    batch = batch_build(period_id=closed_period().pk)
    payout = batch.payouts.get()
    payout_approve(payout_id=payout.pk, actor=admin)
    client.force_login(admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:marketplace_payoutbatch_send", args=[batch.pk]), follow=True
        )

    dispatch = PayoutDispatch.objects.get()
    csv_url = reverse("admin:marketplace_payoutdispatch_csv", args=[dispatch.pk])
    assert _messages(response) == [
        f'Sent 1 payout to the provider ({dispatch.reference}). <a href="{csv_url}">'
        "Download the CSV</a> for the bank."
    ]
    download = client.get(csv_url)
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="{dispatch.reference}.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    payout.refresh_from_db()
    assert rows == [
        ["recipient_email", "amount", "currency", "reference", "note"],
        [
            person.profile.payout_email,
            "20.00",
            "USD",
            payout.provider_reference,
            f"Evaluation work, period ending {batch.cutoff:%Y-%m-%d}",
        ],
    ]
    assert payout.state == Payout.State.SENT
    assert PayoutAudit.objects.get(payout=payout, action="sent").actor == admin


def test_the_csv_is_for_finance_admins_only(client):
    admin = finance()
    person = earner()
    earn(person, "20.00")
    batch = batch_build(period_id=closed_period().pk)
    payout_approve(payout_id=batch.payouts.get().pk, actor=admin)
    dispatch = payouts_send(batch_id=batch.pk, actor=admin)
    client.force_login(UserFactory(roles=("staff",), is_staff=True))

    response = client.get(
        reverse("admin:marketplace_payoutdispatch_csv", args=[dispatch.pk]), follow=True
    )

    assert _messages(response) == ["Only finance admins review and pay payouts."]
    assert response.get("Content-Disposition") is None


def test_nothing_to_send_and_marking_unsent_payouts_paid_are_messages(client):
    admin = finance()
    person = earner()
    earn(person, "20.00")
    batch = batch_build(period_id=closed_period().pk)
    payout = batch.payouts.get()
    client.force_login(admin)

    nothing = _action(client, "send_approved", [payout])
    assert _messages(nothing) == ["This batch has no approved payouts to send."]
    unpaid = _action(client, "mark_paid", [payout])
    assert _messages(unpaid) == [
        f"Only sent payouts can be marked paid; payout {payout.pk} is in review."
    ]


def test_mark_paid_pays_the_entries(client):
    admin = finance()
    person = earner()
    entry = earn(person, "20.00")
    batch = batch_build(period_id=closed_period().pk)
    payout = batch.payouts.get()
    payout_approve(payout_id=payout.pk, actor=admin)
    payouts_send(batch_id=batch.pk, actor=admin)
    client.force_login(admin)

    response = _action(client, "mark_paid", [payout])

    assert _messages(response) == ["Marked 1 payout paid."]
    assert Payout.objects.get(pk=payout.pk).state == Payout.State.PAID
    assert EarningEntry.objects.get(pk=entry.pk).state == EarningEntry.State.PAID
    assert PayoutAudit.objects.get(payout=payout, action="paid").actor == admin


def test_the_payout_page_shows_its_entries_flags_and_audit_trail(client):
    admin = finance()
    person = earner(weekly_hours=10)
    earn(person, "300.00", kind="time", hours="24", work_date=timezone.now().date())
    payout = batch_build(period_id=closed_period().pk).payouts.get()
    client.force_login(admin)
    _action(client, "hold_selected", [payout])
    _confirm(client, "hold_selected", [payout], reason="Ask about the hours")

    page = client.get(reverse("admin:marketplace_payout_change", args=[payout.pk]))

    text = page.content.decode()
    assert page.status_code == 200
    assert "Entries it pays" in text
    assert "300.00 USD" in text
    assert "Hours above declared availability" in text
    assert "Declared hours a week" in text  # the evidence, spelled out
    assert "First payout to this account: none was approved before." in text
    assert "Audit trail" in text
    assert "Ask about the hours" in text
    assert 'name="_save"' not in text  # read-only: nothing to save


def test_the_audit_log_is_read_only(client):
    admin = finance()
    person = earner()
    earn(person, "20.00")
    payout = batch_build(period_id=closed_period().pk).payouts.get()
    payout_approve(payout_id=payout.pk, actor=admin)
    audit = PayoutAudit.objects.get(action="approved")
    client.force_login(admin)

    listing = client.get(reverse("admin:marketplace_payoutaudit_changelist"))
    assert listing.status_code == 200
    assert b"approved" in listing.content
    assert client.get(reverse("admin:marketplace_payoutaudit_add")).status_code == 403
    assert (
        client.post(reverse("admin:marketplace_payoutaudit_delete", args=[audit.pk])).status_code
        == 403
    )
    assert client.get(reverse("admin:marketplace_payout_add")).status_code == 403
    assert (
        client.post(reverse("admin:marketplace_payout_delete", args=[payout.pk])).status_code == 403
    )


def test_settings_are_changed_through_the_service_and_audited(client):
    admin = finance()
    client.force_login(admin)

    opened = client.get(reverse("admin:marketplace_payoutsettings_changelist"), follow=True)
    settings = PayoutSettings.objects.get()
    assert opened.redirect_chain[-1][0] == reverse(
        "admin:marketplace_payoutsettings_change", args=[settings.pk]
    )
    form = opened.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data.update(minimum_amount="25.00", cutoff_time="00:00:00")
    saved = client.post(
        reverse("admin:marketplace_payoutsettings_change", args=[settings.pk]), data, follow=True
    )

    assert saved.status_code == 200
    settings.refresh_from_db()
    assert (settings.minimum_amount, settings.updated_by) == (Decimal("25.00"), admin)
    audit = PayoutAudit.objects.get(action="settings_changed")
    assert audit.data == {
        "before": {"minimum_amount": "10.00"},
        "after": {"minimum_amount": "25.00"},
    }
    assert client.get(reverse("admin:marketplace_payoutsettings_add")).status_code == 403


def test_build_batch_queues_the_build_of_a_closed_period_and_explains_an_open_one(
    client, django_capture_on_commit_callbacks
):
    admin = finance()
    person = earner()
    earn(person, "20.00")
    period = closed_period()
    future = closed_period(days_ago=-6, length=7)
    client.force_login(admin)
    changelist = reverse("admin:marketplace_payperiod_changelist")

    # The build is a job queued at commit (here run in-process when the request's transaction
    # ends): the page says it is under way.
    with django_capture_on_commit_callbacks(execute=True) as queued:
        built = client.post(
            changelist,
            {"action": "build_batch", "_selected_action": [period.pk], "index": "0"},
            follow=True,
        )
    assert len(queued) == 1
    assert "is being built in the background" in _messages(built)[0]
    batch = PayoutBatch.objects.get(period=period)
    assert (batch.state, batch.built_by) == (PayoutBatch.State.READY, admin)

    again = client.post(
        changelist,
        {"action": "build_batch", "_selected_action": [period.pk], "index": "0"},
        follow=True,
    )
    assert "ready with 1 payouts, 1 flagged" in _messages(again)[0]

    refused = client.post(
        changelist,
        {"action": "build_batch", "_selected_action": [future.pk], "index": "0"},
        follow=True,
    )
    assert refused.status_code == 200
    assert "its batch is built after the cut-off" in _messages(refused)[0]


def _queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_batch_and_payout_lists_do_not_query_per_row(client):
    admin = finance()
    client.force_login(admin)
    for amount in ("20.00", "30.00"):
        earn(earner(), amount, approved_at=timezone.now() - timedelta(days=20))
    batch_build(period_id=closed_period(days_ago=15).pk)
    batches = reverse("admin:marketplace_payoutbatch_changelist")
    few = (_queries(client, CHANGELIST), _queries(client, batches))

    for amount in ("40.00", "50.00", "60.00", "70.00"):
        earn(earner(), amount)
    batch_build(period_id=closed_period().pk)

    assert (_queries(client, CHANGELIST), _queries(client, batches)) == few


def test_every_payout_admin_page_opens_for_a_finance_admin(client):
    admin = finance()
    person = earner()
    earn(person, "20.00")
    batch = batch_build(period_id=closed_period().pk)
    payout = batch.payouts.get()
    payout_approve(payout_id=payout.pk, actor=admin)
    dispatch = payouts_send(batch_id=batch.pk, actor=admin)
    client.force_login(admin)

    pages = [
        reverse(f"admin:marketplace_{name}_changelist")
        for name in ("payperiod", "payoutbatch", "payout", "payoutdispatch", "payoutaudit")
    ] + [
        reverse("admin:marketplace_payperiod_change", args=[batch.period_id]),
        reverse("admin:marketplace_payoutbatch_change", args=[batch.pk]),
        reverse("admin:marketplace_payout_change", args=[payout.pk]),
        reverse("admin:marketplace_payoutdispatch_change", args=[dispatch.pk]),
        reverse("admin:marketplace_payoutaudit_change", args=[PayoutAudit.objects.first().pk]),
    ]

    assert {url: client.get(url).status_code for url in pages} == dict.fromkeys(pages, 200)
