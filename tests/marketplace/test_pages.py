"""Marketplace pages through Django's test client, and the admin's project and time screens."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace import services
from marketplace.models import EarningEntry, ManualTimeEntry, Project, WorkSession
from tests.contributors.factories import UserFactory
from tests.marketplace.helpers import make_project, qualified, staff

pytestmark = pytest.mark.django_db


def test_the_dashboard_page_shows_open_and_locked_projects(client) -> None:
    make_project(title="Open one")
    make_project(
        title="Needs maths", tier="stem", pay_rate=Decimal("40"), requires_all=["mathematics"]
    )
    client.force_login(qualified("general"))
    html = client.get(reverse("marketplace:dashboard")).content.decode()
    assert "Open one" in html
    assert "Needs Mathematics." in html


def test_joining_and_timing_from_the_project_page(
    client, django_capture_on_commit_callbacks
) -> None:
    project = make_project(title="Timed", pay_rate=Decimal("36"))
    person = qualified("general")
    client.force_login(person)
    client.post(reverse("marketplace:join", args=[project.pk]))
    page = client.post(reverse("marketplace:session_start", args=[project.pk]), follow=True)
    assert "Timer running" in page.content.decode()
    session = WorkSession.objects.get(user=person)
    WorkSession.objects.filter(pk=session.pk).update(
        started_at=timezone.now() - timedelta(minutes=10)
    )
    beat = client.post(reverse("marketplace:session_heartbeat", args=[session.pk]))
    assert beat.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        stopped = client.post(reverse("marketplace:session_stop", args=[session.pk]), follow=True)
    assert "pending earning" in stopped.content.decode()
    assert (
        client.post(reverse("marketplace:session_heartbeat", args=[session.pk])).status_code == 409
    )
    entry = EarningEntry.objects.get(contributor=person)
    assert (entry.state, entry.amount) == ("pending", Decimal("6.00"))


def test_a_refused_join_shows_the_reason(client) -> None:
    project = make_project(
        requires_all=["general", "law"], tier="professional", pay_rate=Decimal("60")
    )
    client.force_login(qualified("general", "law"))
    page = client.post(reverse("marketplace:join", args=[project.pk]), follow=True)
    assert "Declare a law licence in your profile." in page.content.decode()


def test_the_earnings_page_and_its_chart(client) -> None:
    project = make_project(pay_model="per_task", task_minutes=6)
    person = qualified("general")
    services.earning_record_task(
        contributor=person, project=project, source_id="x", active_seconds=60, multiplier=Decimal(1)
    )
    client.force_login(person)
    html = client.get(reverse("marketplace:earnings")).content.decode()
    assert "2.50 USD" in html
    chart = client.get(reverse("marketplace:earnings_chart"))
    svg = chart.content.decode()
    assert chart["Content-Type"] == "image/svg+xml"
    assert "<svg" in svg
    assert chart["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    markup = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)  # pygal credits itself in comments
    external = [
        url for url in re.findall(r"https?://[^\"' )<]+", markup) if "www.w3.org" not in url
    ]
    assert external == []  # nothing is fetched from elsewhere (no CDN)


def test_the_fair_pay_page_is_for_staff(client) -> None:
    client.force_login(qualified("general"))
    assert client.get(reverse("marketplace:fair_pay")).status_code == 403
    client.force_login(staff())
    assert client.get(reverse("marketplace:fair_pay")).status_code == 200


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


def test_the_admin_refuses_a_project_below_the_floor(client, superuser) -> None:
    client.force_login(superuser)
    response = client.post(
        reverse("admin:marketplace_project_add"),
        {
            "title": "Cheap code",
            "description": "x",
            "tier": "coding",
            "pay_model": "hourly",
            "pay_rate": "30.00",
            "currency": "USD",
            "capacity": "5",
            "priority": "0",
            "requires_all": "programming:python",
            "requires_any": "",
            "languages": "en",
            "status_changes-TOTAL_FORMS": "0",
            "status_changes-INITIAL_FORMS": "0",
            "rate_changes-TOTAL_FORMS": "0",
            "rate_changes-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "At least 40.00 USD an hour for this tier." in response.content.decode()
    assert not Project.objects.exists()


def test_the_admin_approves_manual_time_in_bulk(client, superuser) -> None:
    project = make_project()
    person = qualified("general")
    services.membership_join(project_id=project.pk, user=person)
    now = timezone.now()
    entries = [
        services.manual_entry_create(
            user=person,
            project_id=project.pk,
            started_at=now - timedelta(hours=h + 1),
            ended_at=now - timedelta(hours=h),
            reason="Offline.",
        )
        for h in (2, 4)
    ]
    client.force_login(superuser)
    client.post(
        reverse("admin:marketplace_manualtimeentry_changelist"),
        {"action": "approve_selected", "_selected_action": [entry.pk for entry in entries]},
    )
    assert set(ManualTimeEntry.objects.values_list("status", flat=True)) == {"approved"}
    assert WorkSession.objects.filter(user=person, source="manual").count() == 2


def test_the_ledger_is_read_only_in_the_admin(client, superuser) -> None:
    project = make_project(pay_model="per_task", task_minutes=6)
    entry = services.earning_record_task(
        contributor=qualified("general"),
        project=project,
        source_id="x",
        active_seconds=60,
        multiplier=Decimal(1),
    )
    client.force_login(superuser)
    page = client.get(reverse("admin:marketplace_earningentry_change", args=[entry.pk]))
    assert page.status_code == 200
    assert 'name="amount"' not in page.content.decode()
    assert client.get(reverse("admin:marketplace_earningentry_add")).status_code == 403
