"""The contributor's payout pages: own payouts only, statements and their CSV, and nothing of
the finance review (flags, approvers) on any of them."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from marketplace.models import EarningEntry, Payout
from marketplace.payout_selectors import STATEMENT_HEADER
from marketplace.services.payouts import batch_build, payout_approve, payout_hold
from tests.marketplace.helpers import make_project
from tests.marketplace.payout_helpers import closed_period, earn, earner, finance

pytestmark = pytest.mark.django_db


def _statement_rows(client, period_id: int) -> list[list[str]]:
    response = client.get(reverse("marketplace:statement_csv", args=[period_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_payouts_page_lists_only_ones_own_payouts(client):
    mine, theirs = earner(), earner()
    earn(mine, "31.00")
    earn(theirs, "47.00")
    batch_build(period_id=closed_period().pk)
    client.force_login(mine)

    page = client.get(reverse("marketplace:payouts"))

    assert page.status_code == 200
    assert b"31.00 USD" in page.content
    assert b"47.00" not in page.content


def test_someone_elses_payout_is_not_found(client):
    mine, theirs = earner(), earner()
    earn(mine, "31.00")
    earn(theirs, "47.00")
    batch = batch_build(period_id=closed_period().pk)
    other = batch.payouts.get(contributor=theirs)
    client.force_login(mine)

    assert client.get(reverse("marketplace:payout", args=[other.pk])).status_code == 404
    own = batch.payouts.get(contributor=mine)
    assert client.get(reverse("marketplace:payout", args=[own.pk])).status_code == 200


def test_a_held_payout_shows_its_reason(client):
    person = earner()
    earn(person, "60.00")
    payout = batch_build(period_id=closed_period().pk).payouts.get()
    payout_hold(payout_id=payout.pk, actor=finance(), reason="Your payout e-mail bounced")
    client.force_login(person)

    listing = client.get(reverse("marketplace:payouts")).content.decode()
    detail = client.get(reverse("marketplace:payout", args=[payout.pk])).content.decode()

    assert "On hold" in listing
    assert "Your payout e-mail bounced" in listing
    assert "Your payout e-mail bounced" in detail
    assert "carried to the next pay period" in detail


def test_the_statement_lists_the_periods_earnings_and_its_csv_neutralises_formulas(client):
    person = earner()
    project = make_project(title='=HYPERLINK("http://evil.test","Click")')
    earn(person, "12.50", project=project, kind="task")
    bonus = earn(person, "7.50")
    EarningEntry.objects.filter(pk=bonus.pk).update(reason="@SUM(A1:A9) bonus")
    period = closed_period()
    payout = batch_build(period_id=period.pk).payouts.get()
    client.force_login(person)

    page = client.get(reverse("marketplace:statement_latest"))
    assert page.status_code == 200
    assert page.context["statement"].period == period
    assert b"20.00 USD" in page.content
    rows = _statement_rows(client, period.pk)

    assert rows[0] == list(STATEMENT_HEADER)
    by_amount = {row[5]: row for row in rows[1:]}
    assert set(by_amount) == {"12.50", "7.50"}
    task = by_amount["12.50"]
    assert task[2] == '\'=HYPERLINK("http://evil.test","Click")'
    assert (task[3], task[6], task[7]) == ("task", "USD", "approved")
    assert task[8] == f"EM-{payout.batch_id}-{payout.pk}"
    assert by_amount["7.50"][4] == "'@SUM(A1:A9) bonus"


def test_flags_and_approvers_never_reach_the_contributor(client):
    approver = finance()
    person = earner()
    earn(person, "1500.00")
    period = closed_period()
    payout = batch_build(period_id=period.pk).payouts.get()
    assert payout.flagged  # a first payout
    payout_approve(payout_id=payout.pk, actor=approver)
    assert Payout.objects.get(pk=payout.pk).state == Payout.State.AWAITING_SECOND
    client.force_login(person)

    pages = [
        client.get(reverse("marketplace:payouts")).content.decode(),
        client.get(reverse("marketplace:payout", args=[payout.pk])).content.decode(),
        client.get(reverse("marketplace:statement", args=[period.pk])).content.decode(),
        "\n".join(",".join(row) for row in _statement_rows(client, period.pk)),
    ]

    assert "In review" in pages[0]
    for text in pages:
        assert approver.email not in text
        assert approver.full_name not in text
        assert "first_payout" not in text
        assert "First payout" not in text
        assert "flag" not in text.lower()
        assert "Awaiting second approval" not in text
