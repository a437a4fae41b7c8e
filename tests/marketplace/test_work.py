"""Joining projects and tracking time: capacity, overlaps, heartbeats, idle closing, manual time."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, connection
from django.utils import timezone

from common.errors import InvalidInput
from marketplace import services
from marketplace.errors import (
    NotAMember,
    NotQualified,
    ProjectFull,
    ProjectNotOpen,
    SessionClosed,
    SessionOverlap,
)
from marketplace.models import EarningEntry, ManualTimeEntry, Membership, WorkSession
from tests.marketplace.helpers import make_project, qualified, staff

pytestmark = pytest.mark.django_db


def test_joining_is_refused_with_the_reason_when_not_qualified() -> None:
    project = make_project(requires_all=["general", "mathematics"])
    with pytest.raises(NotQualified, match="Needs Mathematics"):
        services.membership_join(project_id=project.pk, user=qualified("general"))
    assert not Membership.objects.exists()


def test_joining_a_full_project_is_refused() -> None:
    project = make_project(capacity=1)
    services.membership_join(project_id=project.pk, user=qualified("general"))
    with pytest.raises(ProjectFull):
        services.membership_join(project_id=project.pk, user=qualified("general"))
    assert Membership.objects.filter(project=project).count() == 1


def test_joining_a_paused_project_is_refused() -> None:
    project = make_project(status="paused")
    with pytest.raises(ProjectNotOpen):
        services.membership_join(project_id=project.pk, user=qualified("general"))


def test_joining_twice_keeps_one_membership_and_leaving_frees_the_seat() -> None:
    project = make_project(capacity=1)
    person = qualified("general")
    first = services.membership_join(project_id=project.pk, user=person)
    assert services.membership_join(project_id=project.pk, user=person) == first
    services.membership_leave(project_id=project.pk, user=person)
    services.membership_join(project_id=project.pk, user=qualified("general"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_last_seats_go_to_exactly_as_many_people_as_there_are_seats() -> None:
    project = make_project(capacity=3)
    people = [qualified("general") for _ in range(12)]
    barrier = threading.Barrier(len(people))
    outcomes: list[str] = []

    def join(person) -> None:
        try:
            barrier.wait()
            services.membership_join(project_id=project.pk, user=person)
            outcomes.append("joined")
        except ProjectFull:
            outcomes.append("full")
        finally:
            connection.close()

    threads = [threading.Thread(target=join, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["full"] * 9 + ["joined"] * 3
    assert Membership.objects.filter(project=project, left_at__isnull=True).count() == 3


def member(**project_fields):
    project = make_project(**project_fields)
    person = qualified("general")
    services.membership_join(project_id=project.pk, user=person)
    return project, person


def test_work_needs_membership() -> None:
    project = make_project()
    with pytest.raises(NotAMember):
        services.session_start(user=qualified("general"), project_id=project.pk)


def test_a_session_snapshots_the_rate_and_multiplier_in_force() -> None:
    project, person = member(pay_rate=Decimal("25"))
    session = services.session_start(user=person, project_id=project.pk)
    assert (session.rate, session.multiplier, session.currency, session.pay_model) == (
        Decimal("25.00"),
        Decimal("1.00"),
        "USD",
        "hourly",
    )


def test_a_second_running_session_is_refused() -> None:
    project, person = member()
    other = make_project(title="Other")
    services.membership_join(project_id=other.pk, user=person)
    services.session_start(user=person, project_id=project.pk)
    with pytest.raises(SessionOverlap):
        services.session_start(user=person, project_id=other.pk)
    assert WorkSession.objects.filter(user=person).count() == 1


def test_the_database_refuses_two_open_sessions_of_one_person() -> None:
    project, person = member()
    services.session_start(user=person, project_id=project.pk)
    with pytest.raises(IntegrityError):
        WorkSession.objects.create(
            user=person, project=project, pay_model="hourly", rate=1, multiplier=1, currency="USD"
        )


@pytest.mark.postgres
def test_postgres_refuses_overlapping_closed_sessions_of_one_person() -> None:
    project, person = member()
    now = timezone.now()
    common = {
        "user": person,
        "project": project,
        "pay_model": "hourly",
        "rate": 1,
        "multiplier": 1,
        "currency": "USD",
    }
    WorkSession.objects.create(
        started_at=now - timedelta(hours=3),
        last_heartbeat_at=now - timedelta(hours=2),
        ended_at=now - timedelta(hours=2),
        **common,
    )
    with pytest.raises(IntegrityError):
        WorkSession.objects.create(
            started_at=now - timedelta(hours=2, minutes=30),
            last_heartbeat_at=now - timedelta(hours=1),
            ended_at=now - timedelta(hours=1),
            **common,
        )


def test_heartbeats_keep_a_session_alive_and_a_closed_one_refuses_them() -> None:
    project, person = member()
    session = services.session_start(user=person, project_id=project.pk)
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        beat = services.session_heartbeat(session_id=session.pk, user=person)
    assert beat.last_heartbeat_at > session.started_at
    services.session_stop(session_id=session.pk, user=person)
    with pytest.raises(SessionClosed):
        services.session_heartbeat(session_id=session.pk, user=person)


def test_idle_sessions_close_at_their_last_heartbeat(django_capture_on_commit_callbacks) -> None:
    project, person = member(pay_rate=Decimal("30"))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        session = services.session_start(user=person, project_id=project.pk)
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        services.session_heartbeat(session_id=session.pk, user=person)
    with time_machine.travel(start + timedelta(minutes=24)):
        assert services.sessions_close_idle() == 0  # 4 minutes without a heartbeat: still open
    with (
        time_machine.travel(start + timedelta(minutes=40)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.sessions_close_idle() == 1
    session.refresh_from_db()
    assert session.end_reason == "idle"
    assert session.ended_at == session.last_heartbeat_at
    entry = EarningEntry.objects.get(contributor=person)
    assert (entry.amount, entry.state) == (Decimal("10.00"), "pending")  # 20 minutes at 30/h


def test_manual_time_needs_a_reason_and_cannot_be_in_the_future() -> None:
    project, person = member()
    now = timezone.now()
    with pytest.raises(InvalidInput) as caught:
        services.manual_entry_create(
            user=person,
            project_id=project.pk,
            started_at=now + timedelta(hours=1),
            ended_at=now + timedelta(hours=2),
            reason=" ",
        )
    assert caught.value.fields == {
        "reason": ["Say why the time was not tracked."],
        "ended_at": ["Time in the future cannot be entered."],
    }
    assert not ManualTimeEntry.objects.exists()


def test_manual_time_may_not_overlap_recorded_time() -> None:
    project, person = member()
    now = timezone.now()
    services.manual_entry_create(
        user=person,
        project_id=project.pk,
        started_at=now - timedelta(hours=3),
        ended_at=now - timedelta(hours=2),
        reason="Offline.",
    )
    with pytest.raises(SessionOverlap):
        services.manual_entry_create(
            user=person,
            project_id=project.pk,
            started_at=now - timedelta(hours=2, minutes=30),
            ended_at=now - timedelta(hours=1),
            reason="Again.",
        )


def test_approved_manual_time_becomes_a_session_and_a_pending_earning(
    django_capture_on_commit_callbacks,
) -> None:
    project, person = member(pay_rate=Decimal("24"))
    now = timezone.now()
    entry = services.manual_entry_create(
        user=person,
        project_id=project.pk,
        started_at=now - timedelta(hours=2),
        ended_at=now - timedelta(hours=1, minutes=30),
        reason="Tracker crashed.",
    )
    with django_capture_on_commit_callbacks(execute=True):
        decided = services.manual_entry_decide(
            entry_id=entry.pk, actor=staff(), approve=True, note="OK"
        )
    assert (decided.status, decided.session.source, decided.session.end_reason) == (
        "approved",
        "manual",
        "manual",
    )
    earning = EarningEntry.objects.get(contributor=person)
    assert (earning.amount, earning.hours) == (Decimal("12.00"), Decimal("0.5000"))


def test_refused_manual_time_earns_nothing_and_cannot_be_decided_again() -> None:
    from marketplace.errors import EntryNotPending

    project, person = member()
    now = timezone.now()
    entry = services.manual_entry_create(
        user=person,
        project_id=project.pk,
        started_at=now - timedelta(hours=2),
        ended_at=now - timedelta(hours=1),
        reason="x",
    )
    services.manual_entry_decide(entry_id=entry.pk, actor=staff(), approve=False)
    with pytest.raises(EntryNotPending):
        services.manual_entry_decide(entry_id=entry.pk, actor=staff(), approve=True)
    assert not EarningEntry.objects.exists()
