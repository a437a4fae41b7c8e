"""The marketplace API: staff manage, contributors work, nobody sees another's pay or a draft."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace import services
from marketplace.models import Project
from tests.conftest import api_for
from tests.marketplace.helpers import make_project, qualified, staff

pytestmark = pytest.mark.django_db

PROJECT = {
    "title": "Rate recipes",
    "description": "Rate AI recipes for safety.",
    "tier": "general",
    "pay_model": "hourly",
    "pay_rate": "22.00",
    "requires_all": ["general"],
    "languages": ["en"],
}


def test_staff_create_a_draft_project_and_activate_it() -> None:
    client = api_for(staff())
    created = client.post(reverse("project-list"), PROJECT, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["status"], body["requires_all"], body["languages"]) == (
        "draft",
        ["general"],
        ["en"],
    )
    activated = client.post(
        reverse("project-transition", args=[body["id"]]), {"status": "active"}, format="json"
    )
    assert activated.json()["status"] == "active"


def test_a_rate_below_the_floor_is_400_naming_pay_rate() -> None:
    response = api_for(staff()).post(
        reverse("project-list"), {**PROJECT, "tier": "coding", "pay_rate": "39.00"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "rate_below_floor")
    assert list(response.json()["fields"]) == ["pay_rate"]
    assert not Project.objects.exists()


def test_an_unknown_qualification_is_400_naming_the_list() -> None:
    response = api_for(staff()).post(
        reverse("project-list"), {**PROJECT, "requires_all": ["wizardry"]}, format="json"
    )
    assert (response.status_code, list(response.json()["fields"])) == (400, ["requires_all"])


def test_an_invalid_status_change_is_409() -> None:
    project = make_project(status="draft")
    response = api_for(staff()).post(
        reverse("project-transition", args=[project.pk]), {"status": "archived"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "invalid_project_transition")
    project.refresh_from_db()
    assert project.status == "draft"


def test_contributors_cannot_create_or_change_projects() -> None:
    person = qualified("general")
    project = make_project()
    assert api_for(person).post(reverse("project-list"), PROJECT, format="json").status_code == 403
    changed = api_for(person).patch(
        reverse("project-detail", args=[project.pk]), {"pay_rate": "99"}, format="json"
    )
    assert changed.status_code == 403
    project.refresh_from_db()
    assert project.pay_rate == Decimal("25.00")


def test_a_contributor_never_sees_a_draft_project() -> None:
    draft = make_project(status="draft")
    person = qualified("general")
    assert api_for(person).get(reverse("project-detail", args=[draft.pk])).status_code == 404
    assert api_for(person).post(reverse("project-join", args=[draft.pk])).status_code == 404
    assert draft.pk not in [
        row["project"]["id"] for row in api_for(person).get(reverse("dashboard")).json()["results"]
    ]


def test_the_dashboard_lists_open_and_locked_projects_with_reasons() -> None:
    make_project(title="Open")
    make_project(title="Locked", tier="stem", pay_rate=Decimal("40"), requires_all=["physics"])
    client = api_for(qualified("general"))
    open_rows = client.get(reverse("dashboard")).json()
    locked_rows = client.get(reverse("dashboard"), {"eligibility": "locked"}).json()
    assert [row["project"]["title"] for row in open_rows["results"]] == ["Open"]
    assert [(row["project"]["title"], row["reasons"]) for row in locked_rows["results"]] == [
        ("Locked", ["Needs Physics."])
    ]


def test_joining_when_not_qualified_is_403_with_the_reason() -> None:
    project = make_project(requires_all=["general", "chemistry"])
    response = api_for(qualified("general")).post(reverse("project-join", args=[project.pk]))
    assert (response.status_code, response.json()["code"]) == (403, "not_qualified")
    assert "Needs Chemistry." in response.json()["detail"]


def test_joining_a_full_project_is_409() -> None:
    project = make_project(capacity=1)
    api_for(qualified("general")).post(reverse("project-join", args=[project.pk]))
    response = api_for(qualified("general")).post(reverse("project-join", args=[project.pk]))
    assert (response.status_code, response.json()["code"]) == (409, "project_full")


def test_sessions_through_the_api_and_their_bad_inputs() -> None:
    project = make_project()
    person = qualified("general")
    client = api_for(person)
    client.post(reverse("project-join", args=[project.pk]))
    started = client.post(reverse("session-list"), {"project": project.pk}, format="json")
    second = client.post(reverse("session-list"), {"project": project.pk}, format="json")
    stopped = client.post(reverse("session-stop", args=[started.json()["id"]]))
    late_beat = client.post(reverse("session-heartbeat", args=[started.json()["id"]]))
    assert started.status_code == 201
    assert (second.status_code, second.json()["code"]) == (409, "session_overlap")
    assert stopped.json()["ended_at"] is not None
    assert (late_beat.status_code, late_beat.json()["code"]) == (409, "session_closed")


def test_manual_time_without_a_reason_or_in_the_future_names_the_fields() -> None:
    project = make_project()
    person = qualified("general")
    services.membership_join(project_id=project.pk, user=person)
    now = timezone.now()
    response = api_for(person).post(
        reverse("time-entry-list"),
        {
            "project": project.pk,
            "started_at": (now + timedelta(hours=1)).isoformat(),
            "ended_at": (now + timedelta(hours=2)).isoformat(),
            "reason": "",
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"reason", "ended_at"}


def test_earnings_lists_hold_only_the_callers_entries() -> None:
    project = make_project(pay_model="per_task", task_minutes=6)
    mine, theirs = qualified("general"), qualified("general")
    services.earning_record_task(
        contributor=mine, project=project, source_id="a", active_seconds=60, multiplier=Decimal(1)
    )
    services.earning_record_task(
        contributor=theirs, project=project, source_id="b", active_seconds=60, multiplier=Decimal(1)
    )
    body = api_for(mine).get(reverse("earning-list")).json()
    assert body["count"] == 1
    summary = api_for(mine).get(reverse("earning-summary")).json()
    assert summary["totals"]["pending"] == "2.50"


def test_contributors_cannot_approve_reverse_or_adjust_earnings() -> None:
    project = make_project(pay_model="per_task", task_minutes=6)
    person = qualified("general")
    entry = services.earning_record_task(
        contributor=person, project=project, source_id="a", active_seconds=60, multiplier=Decimal(1)
    )
    client = api_for(person)
    assert (
        client.post(reverse("earning-approve"), {"entries": [entry.pk]}, format="json").status_code
        == 403
    )
    assert (
        client.post(
            reverse("earning-reverse", args=[entry.pk]), {"reason": "x"}, format="json"
        ).status_code
        == 403
    )
    adjust = {
        "contributor": person.pk,
        "kind": "bonus",
        "amount": "100",
        "reason": "me",
        "key": "k",
    }
    assert client.post(reverse("earning-adjust"), adjust, format="json").status_code == 403
    entry.refresh_from_db()
    assert entry.state == "pending"


def test_staff_set_floors_and_standings_contributors_cannot() -> None:
    person = qualified("general")
    body = {"amount": "22.00", "reason": "Market."}
    assert (
        api_for(person)
        .post(reverse("tier-floor-set", args=["general"]), body, format="json")
        .status_code
        == 403
    )
    assert (
        api_for(staff())
        .post(reverse("tier-floor-set", args=["general"]), body, format="json")
        .status_code
        == 201
    )
    standing = {"standing": "strong", "reason": "Accurate."}
    assert (
        api_for(person)
        .post(reverse("standing-set", args=[person.pk]), standing, format="json")
        .status_code
        == 403
    )
    assert (
        api_for(staff())
        .post(reverse("standing-set", args=[person.pk]), standing, format="json")
        .status_code
        == 204
    )


def test_the_fair_pay_watch_is_for_staff() -> None:
    assert api_for(qualified("general")).get(reverse("fair-pay")).status_code == 403
    assert api_for(staff()).get(reverse("fair-pay")).status_code == 200
