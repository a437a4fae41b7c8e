"""The payouts API: contributors see only their own payouts, finance admins review and pay them
through it, and every refusal has the one error shape and changes nothing."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from contributors.models import User
from marketplace.models import (
    EarningEntry,
    Payout,
    PayoutAudit,
    PayoutBatch,
    PayoutDispatch,
    PayoutItem,
    PayoutSettings,
    PayPeriod,
)
from marketplace.payout_selectors import STATEMENT_HEADER
from marketplace.services.payouts import (
    batch_build,
    payout_approve,
    payouts_send,
)
from tests.conftest import api_for
from tests.marketplace.helpers import staff
from tests.marketplace.payout_helpers import closed_period, earn, earner, finance

pytestmark = pytest.mark.django_db

MY_PAYOUT_KEYS = {
    "id",
    "period",
    "amount",
    "currency",
    "entries_count",
    "state",
    "reason",
    "payout_email",
    "reference",
    "sent_at",
    "paid_at",
}


def _snapshot() -> tuple:
    """Everything a refused call must leave as it was."""
    return (
        list(
            Payout.objects.order_by("pk").values_list(
                "pk",
                "state",
                "first_approved_by",
                "approved_by",
                "decided_by",
                "reason",
                "dispatch",
                "paid_at",
                "attempts",
            )
        ),
        list(EarningEntry.objects.order_by("pk").values_list("pk", "state", "paid_at")),
        list(PayoutItem.objects.order_by("pk").values_list("pk", "released_at")),
        list(PayoutAudit.objects.order_by("pk").values_list("pk", flat=True)),
        list(PayoutBatch.objects.order_by("pk").values_list("pk", "state")),
        PayoutDispatch.objects.count(),
        list(PayoutSettings.objects.values_list("cutoff_day", "time_zone", "minimum_amount")),
    )


def _error(response) -> tuple[int, str, list[str]]:
    body = response.json()
    return response.status_code, body["code"], sorted(body["fields"])


def _with_history(admin: User, *people: User) -> None:
    """Give each person an approved payout in an earlier batch, so their next one is not a
    first payout (and not flagged for it)."""
    for person in people:
        earn(person, "20.00", approved_at=timezone.now() - timedelta(days=20))
    batch = batch_build(period_id=closed_period(days_ago=15).pk)
    for payout in batch.payouts.all():
        payout_approve(payout_id=payout.pk, actor=admin)


def _one_payout(amount: str = "20.00") -> tuple[User, Payout]:
    person = earner()
    earn(person, amount)
    batch = batch_build(period_id=closed_period().pk)
    return person, batch.payouts.get()


# A contributor's side.


def test_a_contributor_lists_only_their_own_payouts_without_review_details():
    alice, bob = earner(), earner()
    earn(alice, "30.00")
    earn(alice, "12.50")
    earn(bob, "40.00")
    batch = batch_build(period_id=closed_period().pk)
    mine = batch.payouts.get(contributor=alice)
    payout_approve(payout_id=mine.pk, actor=finance())

    response = api_for(alice).get(reverse("my-payout-list"))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    (row,) = body["results"]
    assert set(row) == MY_PAYOUT_KEYS
    assert (row["id"], row["amount"], row["currency"], row["state"]) == (
        mine.pk,
        "42.50",
        "USD",
        "Approved",
    )
    assert row["period"]["id"] == batch.period_id


def test_a_contributor_sees_the_entries_of_their_payout_and_404_for_anyone_elses():
    alice, bob = earner(), earner()
    entries = [earn(alice, "30.00"), earn(alice, "12.50")]
    earn(bob, "40.00")
    batch = batch_build(period_id=closed_period().pk)
    mine = batch.payouts.get(contributor=alice)
    theirs = batch.payouts.get(contributor=bob)
    client = api_for(alice)

    own = client.get(reverse("my-payout-detail", args=[mine.pk]))
    other = client.get(reverse("my-payout-detail", args=[theirs.pk]))

    assert own.status_code == 200
    assert set(own.json()) == MY_PAYOUT_KEYS | {"entries"}
    assert own.json()["state"] == "In review"
    assert [(e["id"], e["amount"], e["currency"]) for e in own.json()["entries"]] == [
        (entries[0].pk, "30.00", "USD"),
        (entries[1].pk, "12.50", "USD"),
    ]
    assert _error(other) == (404, "not_found", [])
    assert "40.00" not in other.content.decode()


def test_a_held_payout_shows_the_contributor_its_reason_but_not_who_held_it():
    admin = finance()
    person, payout = _one_payout()
    api_for(admin).post(
        reverse("finance-payout-hold", args=[payout.pk]), {"reason": "E-mail bounced"}
    )

    row = api_for(person).get(reverse("my-payout-list")).json()["results"][0]

    assert (row["state"], row["reason"]) == ("On hold", "E-mail bounced")
    assert set(row) == MY_PAYOUT_KEYS


def test_a_contributor_statement_holds_only_their_own_entries():
    alice, bob = earner(), earner()
    first, second = earn(alice, "30.00"), earn(alice, "12.50")
    earn(bob, "40.00")
    period = closed_period(days_ago=1, length=7)
    batch = batch_build(period_id=period.pk)
    payout = batch.payouts.get(contributor=alice)

    response = api_for(alice).get(reverse("my-statement", args=[period.pk]))

    assert response.status_code == 200
    body = response.json()
    assert body["period"]["id"] == period.pk
    assert body["approved_total"] == [{"currency": "USD", "amount": "42.50"}]
    assert body["paid_out"] == []  # nothing sent yet
    assert body["in_review"] == [{"currency": "USD", "amount": "42.50"}]
    assert [(p["id"], p["state"]) for p in body["payouts"]] == [(payout.pk, "In review")]
    assert [(e["id"], e["payout"], e["payout_reference"]) for e in body["entries"]] == [
        (first.pk, payout.pk, f"EM-{batch.pk}-{payout.pk}"),
        (second.pk, payout.pk, f"EM-{batch.pk}-{payout.pk}"),
    ]
    assert [p["id"] for p in body["periods"]] == [period.pk]


def test_a_contributor_downloads_their_statement_as_csv():
    alice, bob = earner(), earner()
    earn(alice, "30.00")
    earn(bob, "40.00")
    period = closed_period()
    batch = batch_build(period_id=period.pk)
    payout = batch.payouts.get(contributor=alice)

    response = api_for(alice).get(reverse("my-statement-csv", args=[period.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="statement-')
    rows = list(csv.reader(io.StringIO(response.getvalue().decode())))
    assert rows[0] == list(STATEMENT_HEADER)
    assert [(row[5], row[6], row[7], row[8]) for row in rows[1:]] == [
        ("30.00", "USD", "approved", f"EM-{batch.pk}-{payout.pk}")
    ]


def test_a_statement_of_an_unknown_period_is_404():
    person = earner()
    client = api_for(person)
    assert _error(client.get(reverse("my-statement", args=[999_999]))) == (404, "not_found", [])
    assert client.get(reverse("my-statement-csv", args=[999_999])).status_code == 404


# Who may call what.


@pytest.fixture
def scene(db) -> dict[str, int]:
    """A sent payout (so a dispatch and its file exist) and one still in review."""
    admin = finance()
    sent, waiting = earner(), earner()
    earn(sent, "20.00")
    earn(waiting, "25.00")
    period = closed_period()
    batch = batch_build(period_id=period.pk)
    payout = payout_approve(payout_id=batch.payouts.get(contributor=sent).pk, actor=admin)
    dispatch = payouts_send(batch_id=batch.pk, actor=admin)
    return {
        "period": period.pk,
        "batch": batch.pk,
        "payout": batch.payouts.get(contributor=waiting).pk,
        "sent": payout.pk,
        "dispatch": dispatch.pk,
    }


FINANCE_ROUTES = [
    ("get", "finance-payout-settings", None, None),
    ("patch", "finance-payout-settings", None, {"cutoff_day": 5}),
    ("get", "finance-period-list", None, None),
    ("post", "finance-period-build", "period", None),
    ("get", "finance-batch-list", None, None),
    ("get", "finance-batch-detail", "batch", None),
    ("get", "finance-batch-payouts", "batch", None),
    ("post", "finance-batch-approve-unflagged", "batch", None),
    ("post", "finance-batch-send", "batch", None),
    ("get", "finance-dispatch-csv", "dispatch", None),
    ("get", "finance-payout-detail", "payout", None),
    ("post", "finance-payout-approve", "payout", None),
    ("post", "finance-payout-hold", "payout", {"reason": "Check"}),
    ("post", "finance-payout-reject", "payout", {"reason": "No", "entries": "reverse"}),
    ("post", "finance-payouts-mark-paid", None, {"payouts": ["sent"]}),
    ("get", "finance-audit", None, None),
    ("get", "finance-reconciliation", None, None),
]
MY_ROUTES = [
    ("get", "my-payout-list", None, None),
    ("get", "my-payout-detail", "payout", None),
    ("get", "my-statement", "period", None),
    ("get", "my-statement-csv", "period", None),
]


def _call(client: APIClient, scene: dict[str, int], route: tuple):
    method, name, arg, body = route
    url = reverse(name, args=[scene[arg]] if arg else [])
    if body and "payouts" in body:
        body = {"payouts": [scene[key] for key in body["payouts"]]}
    return getattr(client, method)(url, body, format="json")


@pytest.mark.parametrize("route", FINANCE_ROUTES, ids=lambda route: f"{route[0]} {route[1]}")
def test_every_finance_route_refuses_staff_and_contributors_without_the_finance_role(scene, route):
    contributor = Payout.objects.get(pk=scene["payout"]).contributor
    before = _snapshot()

    refused = [_call(api_for(user), scene, route) for user in (staff(), contributor)]

    assert [_error(response)[:2] for response in refused] == [(403, "permission_denied")] * 2
    assert _snapshot() == before


@pytest.mark.parametrize(
    "route", FINANCE_ROUTES + MY_ROUTES, ids=lambda route: f"{route[0]} {route[1]}"
)
def test_every_payout_route_refuses_anonymous_callers(scene, route):
    before = _snapshot()

    response = _call(APIClient(), scene, route)

    assert _error(response)[:2] == (401, "not_authenticated")
    assert _snapshot() == before


def test_a_finance_admin_sees_flags_evidence_entries_and_the_audit_trail():
    admin = finance()
    person, payout = _one_payout()

    response = api_for(admin).get(reverse("finance-payout-detail", args=[payout.pk]))

    assert response.status_code == 200
    body = response.json()
    assert body["contributor"] == {
        "id": person.pk,
        "email": person.email,
        "full_name": person.full_name,
    }
    assert (body["amount"], body["currency"], body["state"], body["flagged"]) == (
        "20.00",
        "USD",
        "review",
        True,
    )
    assert body["flags"] == [
        {
            "code": "first_payout",
            "message": "First payout to this account: none was approved before.",
            "evidence": {"earlier_payouts_approved": 0, "earlier_payouts_held_or_rejected": 0},
        }
    ]
    assert [entry["amount"] for entry in body["entries"]] == ["20.00"]
    assert body["audit"] == []


# The finance flow.


def test_the_whole_finance_flow_from_build_to_paid(django_capture_on_commit_callbacks):
    admin = finance()
    veteran, regular, newcomer, doubtful = earner(), earner(), earner(), earner()
    _with_history(admin, veteran, regular)
    earn(veteran, "20.00")
    earn(regular, "30.00")
    earn(newcomer, "25.00")
    earn(doubtful, "40.00")
    period = closed_period()
    client = api_for(admin)

    # The build is a job queued at commit; here it runs in-process once the request is done.
    with django_capture_on_commit_callbacks(execute=True):
        built = client.post(reverse("finance-period-build", args=[period.pk]))
    assert (built.status_code, built.json()["state"]) == (202, "building"), built.json()
    batch = client.get(reverse("finance-batch-detail", args=[built.json()["id"]])).json()
    assert (batch["state"], batch["payouts_count"], batch["flagged_count"]) == ("ready", 4, 2)
    assert batch["totals"] == [
        {"currency": "USD", "state": "review", "count": 4, "total": "115.00"}
    ]
    payouts_url = reverse("finance-batch-payouts", args=[batch["id"]])

    flagged = client.get(payouts_url, {"flagged": "true"}).json()["results"]
    assert {row["contributor"]["id"] for row in flagged} == {newcomer.pk, doubtful.pk}
    assert {flag["code"] for row in flagged for flag in row["flags"]} == {"first_payout"}
    unflagged = client.get(payouts_url, {"flagged": "false"}).json()["results"]
    assert {row["contributor"]["id"] for row in unflagged} == {veteran.pk, regular.pk}
    by_code = client.get(payouts_url, {"flag": "first_payout"}).json()["results"]
    assert {row["id"] for row in by_code} == {row["id"] for row in flagged}
    ids = {row["contributor"]["id"]: row["id"] for row in flagged + unflagged}

    held = client.post(
        reverse("finance-payout-hold", args=[ids[doubtful.pk]]), {"reason": "Check identity"}
    )
    assert (held.status_code, held.json()["state"]) == (200, "held")
    bulk = client.post(reverse("finance-batch-approve-unflagged", args=[batch["id"]]))
    assert bulk.json() == {"approved": 2, "awaiting_second": 0}
    approved = client.post(reverse("finance-payout-approve", args=[ids[newcomer.pk]]))
    assert (approved.status_code, approved.json()["approved_by"]) == (200, admin.pk)
    assert {
        row["contributor"]["id"]
        for row in client.get(payouts_url, {"state": "approved"}).json()["results"]
    } == {veteran.pk, regular.pk, newcomer.pk}

    sent = client.post(reverse("finance-batch-send", args=[batch["id"]]))
    assert sent.status_code == 201
    assert sent.json()["payouts_count"] == 3
    download = client.get(sent.json()["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.getvalue().decode())))
    paid_ids = [ids[person.pk] for person in (veteran, regular, newcomer)]
    references = {
        pk: client.get(reverse("finance-payout-detail", args=[pk])).json()["provider_reference"]
        for pk in paid_ids
    }
    assert sorted(
        (r["recipient_email"], r["amount"], r["currency"], r["reference"]) for r in rows
    ) == sorted(
        [
            (veteran.profile.payout_email, "20.00", "USD", references[ids[veteran.pk]]),
            (regular.profile.payout_email, "30.00", "USD", references[ids[regular.pk]]),
            (newcomer.profile.payout_email, "25.00", "USD", references[ids[newcomer.pk]]),
        ]
    )

    paid = client.post(reverse("finance-payouts-mark-paid"), {"payouts": paid_ids}, format="json")
    assert paid.json() == {"count": 3}

    mine = api_for(newcomer).get(reverse("my-payout-list")).json()["results"]
    assert [(row["id"], row["state"], row["amount"]) for row in mine] == [
        (ids[newcomer.pk], "Paid", "25.00")
    ]
    theirs = api_for(doubtful).get(reverse("my-payout-list")).json()["results"]
    assert [(row["state"], row["reason"]) for row in theirs] == [("On hold", "Check identity")]
    detail = client.get(reverse("finance-batch-detail", args=[batch["id"]])).json()
    assert detail["totals"] == [
        {"currency": "USD", "state": "held", "count": 1, "total": "40.00"},
        {"currency": "USD", "state": "paid", "count": 3, "total": "75.00"},
    ]
    assert [d["id"] for d in detail["dispatches"]] == [sent.json()["id"]]
    audit = client.get(reverse("finance-audit"), {"batch": batch["id"]}).json()["results"]
    assert [row["action"] for row in audit if row["payout"] is None] == [
        "bulk_approved",
        "batch_built",
    ]
    assert {row["action"] for row in audit} >= {"held", "approved", "sent", "paid"}
    assert client.get(reverse("finance-reconciliation")).json() == {"ok": True, "breaks": []}


def test_four_eyes_through_the_api():
    admin, second = finance(), finance()
    _person, payout = _one_payout("1500.00")
    url = reverse("finance-payout-approve", args=[payout.pk])

    first = api_for(admin).post(url)
    assert (first.status_code, first.json()["state"]) == (200, "awaiting_second")
    before = _snapshot()
    again = api_for(admin).post(url)
    assert _error(again) == (409, "four_eyes_required", [])
    assert _snapshot() == before
    done = api_for(second).post(url)

    assert done.status_code == 200
    assert (done.json()["state"], done.json()["first_approved_by"], done.json()["approved_by"]) == (
        "approved",
        admin.pk,
        second.pk,
    )


def test_a_finance_admin_cannot_decide_on_their_own_payout():
    admin = finance()
    earn(admin, "30.00")
    payout = batch_build(period_id=closed_period().pk).payouts.get()
    client = api_for(admin)
    before = _snapshot()

    approve = client.post(reverse("finance-payout-approve", args=[payout.pk]))
    hold = client.post(reverse("finance-payout-hold", args=[payout.pk]), {"reason": "Mine"})

    assert _error(approve) == (403, "own_payout", [])
    assert _error(hold) == (403, "own_payout", [])
    assert _snapshot() == before


def test_approving_twice_is_409():
    admin = finance()
    _person, payout = _one_payout()
    url = reverse("finance-payout-approve", args=[payout.pk])
    assert api_for(admin).post(url).status_code == 200
    before = _snapshot()

    again = api_for(finance()).post(url)

    assert _error(again) == (409, "payout_state", [])
    assert _snapshot() == before


def test_marking_an_unsent_payout_paid_is_409():
    admin = finance()
    _person, payout = _one_payout()
    before = _snapshot()

    response = api_for(admin).post(
        reverse("finance-payouts-mark-paid"), {"payouts": [payout.pk]}, format="json"
    )

    assert _error(response) == (409, "payout_state", [])
    assert _snapshot() == before


def test_sending_a_batch_with_nothing_approved_is_409():
    admin = finance()
    _person, payout = _one_payout()
    before = _snapshot()

    response = api_for(admin).post(reverse("finance-batch-send", args=[payout.batch_id]))

    assert _error(response) == (409, "nothing_to_send", [])
    assert _snapshot() == before


def test_a_build_asked_for_is_queued_and_the_hourly_job_finishes_it_if_the_queue_is_down():
    """The build runs as a job (a large period takes longer than a request may): the request
    answers 202 with the batch building; with the broker unreachable the job is not queued,
    and the hourly build job finishes the batch."""
    from marketplace.services.payouts import batches_build_due
    from tests.security.test_sweeper import broker_down

    earn(earner(), "20.00")
    period = closed_period()
    admin = finance()
    with broker_down():
        response = api_for(admin).post(reverse("finance-period-build", args=[period.pk]))
    assert response.status_code == 202, response.json()
    body = response.json()
    assert (body["state"], body["payouts_count"]) == ("building", 0)
    batch = PayoutBatch.objects.get(pk=body["id"])
    assert batch.built_by == admin

    assert batches_build_due() == [batch.pk]
    batch.refresh_from_db()
    assert (batch.state, batch.payouts.count(), batch.built_by) == ("ready", 1, admin)
    again = api_for(admin).post(reverse("finance-period-build", args=[period.pk]))
    assert (again.status_code, again.json()["state"]) == (200, "ready")


def test_building_an_open_period_is_409():
    now = timezone.now()
    period = PayPeriod.objects.create(
        starts_at=now - timedelta(days=2), ends_at=now + timedelta(days=5), time_zone="UTC"
    )
    earn(earner(), "20.00")
    before = _snapshot()

    response = api_for(finance()).post(reverse("finance-period-build", args=[period.pk]))

    assert _error(response) == (409, "period_open", [])
    assert _snapshot() == before


def test_unknown_ids_are_404():
    client = api_for(finance())
    for name in ("finance-batch-detail", "finance-batch-payouts", "finance-payout-detail"):
        assert _error(client.get(reverse(name, args=[999_999]))) == (404, "not_found", [])
    assert _error(client.post(reverse("finance-period-build", args=[999_999])))[0] == 404


# Bad input.


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("finance-payout-hold", {}, "reason"),
        ("finance-payout-hold", {"reason": "   "}, "reason"),
        ("finance-payout-reject", {"entries": "return"}, "reason"),
        ("finance-payout-reject", {"reason": "Fraud", "entries": "bogus"}, "entries"),
    ],
)
def test_a_decision_with_bad_input_is_400_naming_the_field(name, body, field):
    _person, payout = _one_payout()
    before = _snapshot()

    response = api_for(finance()).post(reverse(name, args=[payout.pk]), body, format="json")

    assert _error(response) == (400, "invalid", [field])
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cutoff_day": 40}, "cutoff_day"),
        ({"time_zone": "Mars/Base"}, "time_zone"),
        ({"minimum_amount": "0.00"}, "minimum_amount"),
        ({"length": "yearly"}, "length"),
    ],
)
def test_settings_with_bad_input_are_400_naming_the_field(body, field):
    client = api_for(finance())
    client.get(reverse("finance-payout-settings"))
    before = _snapshot()

    response = client.patch(reverse("finance-payout-settings"), body, format="json")

    assert _error(response) == (400, "invalid", [field])
    assert _snapshot() == before


def test_settings_changes_are_saved_and_audited():
    admin = finance()
    client = api_for(admin)

    response = client.patch(
        reverse("finance-payout-settings"),
        {"minimum_amount": "25.00", "cutoff_day": 15},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["minimum_amount"], body["cutoff_day"], body["updated_by"]) == (
        "25.00",
        15,
        admin.pk,
    )
    assert client.get(reverse("finance-payout-settings")).json() == body
    audit = PayoutAudit.objects.get(action="settings_changed")
    assert (audit.actor, audit.data["after"]) == (
        admin,
        {"minimum_amount": "25.00", "cutoff_day": "15"},
    )


def test_rejecting_with_reversal_reverses_the_entries():
    admin = finance()
    person, payout = _one_payout()

    response = api_for(admin).post(
        reverse("finance-payout-reject", args=[payout.pk]),
        {"reason": "Fraud check", "entries": "reverse"},
        format="json",
    )

    assert (response.status_code, response.json()["state"], response.json()["reason"]) == (
        200,
        "rejected",
        "Fraud check",
    )
    entries = EarningEntry.objects.filter(contributor=person).order_by("pk")
    assert [(e.kind, e.amount, e.state) for e in entries] == [
        ("bonus", Decimal("20.00"), "reversed"),
        ("reversal", Decimal("-20.00"), "reversed"),
    ]


def test_periods_are_listed_with_their_batches():
    person = earner()
    earn(person, "20.00")
    period = closed_period()
    batch = batch_build(period_id=period.pk)

    response = api_for(finance()).get(reverse("finance-period-list"))

    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()["results"]}
    assert rows[period.pk]["batch"] == {"id": batch.pk, "state": "ready"}
    assert rows[period.pk]["is_closed"] is True
    assert any(row["batch"] is None and not row["is_closed"] for row in rows.values())


def test_reconciliation_reports_a_broken_ledger():
    _person, payout = _one_payout()
    Payout.objects.filter(pk=payout.pk).update(amount=Decimal("21.00"))

    body = api_for(finance()).get(reverse("finance-reconciliation")).json()

    assert body["ok"] is False
    # Only the payout's id: SQLite gives the amounts back without their decimals.
    assert [(item["rule"], [row[0] for row in item["rows"]]) for item in body["breaks"]] == [
        ("payout_amount_differs_from_entries", [str(payout.pk)])
    ]


# Bounded queries.


def _payouts_list_queries(admin_id: int, batch_id: int) -> tuple[int, int]:
    # A fresh user each time: Django caches permissions on the user object.
    client = api_for(User.objects.get(pk=admin_id))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("finance-batch-payouts", args=[batch_id]), {"limit": 100})
    assert response.status_code == 200
    return len(queries), len(response.json()["results"])


def test_the_batch_payouts_list_takes_the_same_queries_for_3_and_30_payouts():
    admin = finance()
    regulars = [earner() for _ in range(3)]
    for person in regulars:
        earn(person, "20.00", approved_at=timezone.now() - timedelta(days=20))
    small = batch_build(period_id=closed_period(days_ago=15).pk)
    payout_approve(payout_id=small.payouts.first().pk, actor=admin)
    for person in [*regulars, *(earner() for _ in range(27))]:
        earn(person, "20.00")
    large = batch_build(period_id=closed_period().pk)

    few, few_rows = _payouts_list_queries(admin.pk, small.pk)
    many, many_rows = _payouts_list_queries(admin.pk, large.pk)

    assert (few_rows, many_rows) == (3, 30)
    # Permissions (user and group), the batch, the count, the payouts, their flags.
    assert many == few <= 6
