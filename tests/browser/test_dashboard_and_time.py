"""A qualified contributor opens the dashboard, sees a locked coding project with the assessment
that unlocks it, joins a general project, works a timed session and sees the pending earning."""

import re
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import Page, expect

from assessments.services import assessment_content_load
from marketplace.models import EarningEntry, WorkSession
from tests.browser.conftest import BROWSER
from tests.browser.test_starter_assessment import log_in
from tests.marketplace.helpers import make_project, qualified

pytestmark = BROWSER


def test_dashboard_join_work_and_see_the_pending_earning(page: Page, shoot) -> None:
    assessment_content_load()
    make_project(
        title="Review AI-written Python",
        tier="coding",
        pay_rate=Decimal("45"),
        requires_all=["general", "programming:python"],
        description="Find the bugs in code written by a model.",
    )
    make_project(
        title="Chatbot answer comparisons",
        pay_rate=Decimal("54"),
        description="Compare two answers and say which is **better**.",
        time_commitment="5-10 hours a week",
        priority=5,
    )
    person = qualified("general")

    log_in(page, person.email)
    expect(page.get_by_role("heading", name="Pick projects from your dashboard")).to_be_visible()
    page.get_by_role("link", name="Open the dashboard").click()
    expect(page.get_by_role("heading", name="Your dashboard")).to_be_visible()
    locked = page.locator(".project-card.locked", has_text="Review AI-written Python")
    expect(locked.get_by_text("Needs Python programming.")).to_be_visible()
    expect(
        locked.get_by_role("link", name="Unlock with the Coding Assessment (Python and JavaScript)")
    ).to_be_visible()
    shoot("dashboard")

    card = page.locator(".project-card", has_text="Chatbot answer comparisons")
    expect(card.get_by_text("54.00 USD an hour")).to_be_visible()
    card.get_by_role("button", name="Join").click()
    expect(page.get_by_text("You joined the project.")).to_be_visible()
    shoot("joined")

    page.get_by_role("button", name="Start the timer").click()
    expect(page.get_by_text("Timer running:")).to_be_visible()
    expect(page.locator(".timer")).to_have_text(re.compile(r"^0:00:0[1-9]$"), timeout=5000)
    shoot("timer-running")
    # Stand in for three quarters of an hour of work: move the session's start back.
    session = WorkSession.objects.get(user=person, ended_at__isnull=True)
    WorkSession.objects.filter(pk=session.pk).update(
        started_at=timezone.now() - timedelta(minutes=45)
    )
    page.get_by_role("button", name="Stop the timer").click()
    expect(page.get_by_text("Stopped. Your time is recorded as a pending earning.")).to_be_visible()

    page.get_by_role("link", name="Earnings").click()
    expect(page.locator(".totals .card").first).to_contain_text(
        re.compile(r"Pending\s*40\.5\d USD")
    )
    expect(
        page.get_by_role("cell", name=re.compile(r"Time worked: 0\.75 h × 54\.00 × 1\.00"))
    ).to_be_visible()
    expect(
        page.get_by_role("img", name=re.compile("Bar chart of earnings per week"))
    ).to_be_visible()
    shoot("earnings")

    entry = EarningEntry.objects.get(contributor=person)
    assert (entry.kind, entry.state, entry.currency) == ("time", "pending", "USD")
    assert Decimal("40.50") <= entry.amount < Decimal("40.60")
