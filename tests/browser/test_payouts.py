"""A finance admin reviews a flagged batch in the admin: holds one payout with a reason,
approves the rest (a second finance admin gives the second approval above the four-eyes
amount), sends the batch and downloads the CSV; the contributor then sees the payout sent."""

import csv
import re
from datetime import timedelta
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from contributors.models import User
from marketplace.models import Payout
from marketplace.services.payouts import batch_build, payout_approve
from tests.browser.conftest import BROWSER
from tests.browser.test_starter_assessment import log_in
from tests.marketplace.payout_helpers import closed_period, earn, earner, finance

pytestmark = BROWSER


def _person(name: str) -> User:
    person = earner()
    User.objects.filter(pk=person.pk).update(full_name=name)
    person.refresh_from_db()
    return person


def _batch_to_review() -> dict[str, User]:
    """Five contributors; four were paid before. Dev's pay rose nine-fold and Ines is new
    (both flagged); Eve's payout is above the four-eyes amount."""
    first, second = finance(), finance()
    User.objects.filter(pk=first.pk).update(full_name="Fay Finance")
    User.objects.filter(pk=second.pk).update(full_name="Finn Finance")
    people = {
        name: _person(f"{name} Crowd" if name != "Eve" else "Eve Expert")
        for name in ("Carl", "Cleo", "Dev", "Eve", "Ines")
    }
    before = timezone.now() - timedelta(days=20)
    for name, amount in (("Carl", "180.00"), ("Cleo", "240.00"), ("Dev", "60.00")):
        earn(people[name], amount, approved_at=before)
    earn(people["Eve"], "880.00", approved_at=before)
    earlier = batch_build(period_id=closed_period(days_ago=15).pk)
    for payout in earlier.payouts.all():
        payout_approve(payout_id=payout.pk, actor=first)
    for name, amount in (
        ("Carl", "276.00"),
        ("Cleo", "213.00"),
        ("Dev", "576.00"),
        ("Eve", "1155.00"),
        ("Ines", "95.00"),
    ):
        earn(people[name], amount)
    batch_build(period_id=closed_period().pk)
    return {"first": first, "second": second, **people}


def _row(page: Page, text: str):
    return page.locator("#result_list tbody tr", has_text=text)


def test_a_finance_admin_reviews_sends_and_the_contributor_sees_it_sent(
    page: Page, browser: Browser, live_server, shoot
) -> None:
    cast = _batch_to_review()
    dev, eve, ines = cast["Dev"], cast["Eve"], cast["Ines"]

    log_in(page, cast["first"].email)
    page.get_by_role("link", name="Payout review").click()
    expect(
        page.get_by_role("heading", name="Payout batches: open one to review it")
    ).to_be_visible()
    shoot("batches")
    _row(page, "Ready for review").first.get_by_role("link").click()
    panel = page.locator("#batch-review")
    expect(panel).to_contain_text("5 payouts · 2 flagged · 5 still to decide")
    shoot("batch")

    panel.get_by_role("link", name="flagged, in review (2)").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    shoot("flagged")
    _row(page, dev.email).get_by_role("link", name=re.compile("Dev Crowd")).click()
    review = page.locator("#payout-review")
    expect(review).to_contain_text("Sharp rise against own history")
    expect(review).to_contain_text("576.00 USD against a median of 60.00")
    shoot("payout-flags")
    review.get_by_role("button", name="Hold…").click()
    page.get_by_label("Reason").fill("Nine times his usual pay in one week: asked for his logs.")
    shoot("hold-reason")
    page.get_by_role("button", name="Hold", exact=True).click()
    expect(page.get_by_text("Held 1 payout.")).to_be_visible()
    expect(page.locator("#payout-review")).to_contain_text("Held")
    shoot("held")

    page.get_by_role("link", name="Next flagged payout in review →").click()
    expect(page.locator("#payout-review")).to_contain_text(
        "First payout to this account: none was approved before."
    )
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text("Approved 1 payout.")).to_be_visible()
    shoot("flagged-approved")

    page.get_by_role("link", name="← Payouts of this batch").click()
    page.get_by_role("link", name="Payout batches").click()
    _row(page, "Ready for review").first.get_by_role("link").click()
    page.get_by_role("button", name="Approve all unflagged payouts (3)").click()
    expect(
        page.get_by_text(re.compile("Approved 2 unflagged payouts; 1 of the four-eyes"))
    ).to_be_visible()
    expect(page.locator("#batch-review")).to_contain_text("awaiting a second approval (1)")
    shoot("bulk-approved")

    second = browser.new_context(
        viewport={"width": 1280, "height": 800}, base_url=live_server.url
    ).new_page()
    log_in(second, cast["second"].email)
    second.get_by_role("link", name="Payout review").click()
    _row(second, "Ready for review").first.get_by_role("link").click()
    second.get_by_role("link", name="awaiting a second approval (1)").click()
    row = _row(second, eve.email)
    expect(row).to_contain_text(f"first: {cast['first'].email}")
    row.locator("input.action-select").check()
    second.get_by_label("Action:").select_option(label="Approve selected payouts")
    shoot("awaiting-second", on=second)
    second.get_by_role("button", name="Go").click()
    expect(second.get_by_text("Approved 1 payout.")).to_be_visible()

    page.reload()
    send = page.get_by_role("button", name="Send the approved payouts (4)")
    expect(send).to_be_enabled()
    send.click()
    expect(page.get_by_text(re.compile(r"Sent 4 payouts to the provider"))).to_be_visible()
    shoot("sent")
    with page.expect_download() as download:
        page.locator(".messagelist").get_by_role("link", name="Download the CSV").click()
    rows = list(csv.reader(Path(download.value.path()).read_text().splitlines()))
    assert rows[0] == ["recipient_email", "amount", "currency", "reference", "note"]
    sent = {
        payout.payout_email: payout
        for payout in Payout.objects.filter(
            state=Payout.State.SENT, batch__cutoff__gt=timezone.now() - timedelta(days=3)
        )
    }
    assert {(row[0], row[1], row[3]) for row in rows[1:]} == {
        (email, f"{payout.amount:.2f}", payout.provider_reference) for email, payout in sent.items()
    }
    assert {row[1] for row in rows[1:]} == {"276.00", "213.00", "1155.00", "95.00"}
    assert dev.profile.payout_email not in sent

    contributor = browser.new_context(
        viewport={"width": 1280, "height": 800}, base_url=live_server.url
    ).new_page()
    log_in(contributor, ines.email)
    contributor.get_by_role("link", name="Earnings").click()
    contributor.get_by_role("link", name="Payouts", exact=True).click()
    payout_row = contributor.get_by_role("row", name=re.compile("95.00 USD"))
    expect(payout_row).to_contain_text("Sent")
    expect(contributor.get_by_text("First payout")).to_have_count(0)
    shoot("contributor-payouts", on=contributor)
