"""Tier floors, multipliers and standings over time; projects and their status machine."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from common.errors import InvalidInput, PermissionDenied
from contributors.services import standing_set
from marketplace import selectors, services
from marketplace.errors import InvalidProjectTransition, RateBelowFloor
from marketplace.models import Project, ProjectRateChange, ProjectStatusChange
from tests.contributors.factories import ContributorFactory
from tests.marketplace.helpers import make_project, staff

pytestmark = pytest.mark.django_db


def test_default_floors_are_the_designed_ones() -> None:
    floors = {tier: floor.amount for tier, floor in selectors.tier_floors_current().items()}
    assert floors == {
        "general": Decimal("20.00"),
        "multilingual": Decimal("20.00"),
        "coding": Decimal("40.00"),
        "stem": Decimal("40.00"),
        "professional": Decimal("50.00"),
    }


def test_a_floor_change_starts_from_its_date_and_keeps_the_old_one() -> None:
    actor = staff()
    before = timezone.now()
    services.tier_floor_set(
        tier="coding",
        amount=Decimal("45"),
        currency="USD",
        actor=actor,
        reason="Market.",
        effective_from=before + timedelta(days=1),
    )
    assert selectors.tier_floor_at(tier="coding").amount == Decimal("40.00")
    assert selectors.tier_floor_at(tier="coding", at=before + timedelta(days=2)).amount == Decimal(
        "45.00"
    )


def test_a_floor_needs_a_positive_amount_and_a_reason() -> None:
    with pytest.raises(InvalidInput) as caught:
        services.tier_floor_set(
            tier="coding", amount=Decimal("0"), currency="XXX", actor=staff(), reason=""
        )
    assert set(caught.value.fields) == {"amount", "currency", "reason"}


def test_contributors_cannot_set_floors() -> None:
    with pytest.raises(PermissionDenied):
        services.tier_floor_set(
            tier="coding",
            amount=Decimal("1"),
            currency="USD",
            actor=ContributorFactory(),
            reason="x",
        )


def test_the_multiplier_follows_the_standing_in_force_at_the_time() -> None:
    person = ContributorFactory(status="active")
    start = timezone.now()
    assert selectors.multiplier_for_user(user=person) == Decimal("1.00")
    standing_set(user=person, standing="strong", set_by=staff(), reason="Great gold accuracy.")
    assert selectors.multiplier_for_user(user=person) == Decimal("1.10")
    assert selectors.multiplier_for_user(user=person, at=start) == Decimal("1.00")
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        services.multiplier_set(
            standing="strong", multiplier=Decimal("1.15"), actor=staff(), reason="Raise."
        )
        assert selectors.multiplier_for_user(user=person) == Decimal("1.15")
    assert selectors.multiplier_for_user(user=person) == Decimal("1.10")


def test_a_project_below_its_tier_floor_is_refused_naming_the_rate() -> None:
    with pytest.raises(RateBelowFloor) as caught:
        make_project(tier="coding", pay_rate=Decimal("39.99"), requires_all=["programming:python"])
    assert caught.value.fields == {"pay_rate": ["At least 40.00 USD an hour for this tier."]}
    assert Project.objects.count() == 0


def test_an_update_below_the_floor_is_refused_and_changes_nothing() -> None:
    project = make_project(pay_rate=Decimal("30"))
    with pytest.raises(RateBelowFloor):
        services.project_update(
            project_id=project.pk, actor=staff(), data={"pay_rate": Decimal("19.99")}
        )
    project.refresh_from_db()
    assert project.pay_rate == Decimal("30.00")


def test_unknown_qualifications_and_languages_are_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        make_project(
            requires_all=["astrology"], requires_any=["programming:cobol"], languages=["xx"]
        )
    assert set(caught.value.fields) == {"requires_all", "requires_any", "languages"}


def test_a_per_task_project_needs_its_minutes_per_task() -> None:
    with pytest.raises(InvalidInput) as caught:
        make_project(pay_model="per_task")
    assert "task_minutes" in caught.value.fields


def test_a_rate_change_is_recorded_with_who_and_the_old_rate() -> None:
    project = make_project(pay_rate=Decimal("25"))
    actor = staff()
    services.project_update(project_id=project.pk, actor=actor, data={"pay_rate": Decimal("27.50")})
    change = ProjectRateChange.objects.filter(project=project).latest("created_at")
    assert (change.old_rate, change.new_rate, change.actor) == (
        Decimal("25.00"),
        Decimal("27.50"),
        actor,
    )


ALLOWED = {
    ("draft", "active"),
    ("active", "paused"),
    ("active", "completed"),
    ("paused", "active"),
    ("paused", "completed"),
    ("completed", "archived"),
}


def test_the_transition_table_is_the_documented_machine() -> None:
    table = {(a, b) for a, targets in services.PROJECT_TRANSITIONS.items() for b in targets}
    assert table == ALLOWED


@pytest.mark.parametrize(
    ("start", "target"),
    [(a, b) for a in Project.Status.values for b in Project.Status.values if (a, b) not in ALLOWED],
)
def test_every_other_status_change_is_refused(start: str, target: str) -> None:
    project = make_project(status="draft")
    Project.objects.filter(pk=project.pk).update(status=start)
    with pytest.raises(InvalidProjectTransition):
        services.project_transition(project_id=project.pk, actor=staff(), to_status=target)
    project.refresh_from_db()
    assert project.status == start


def test_status_changes_are_recorded() -> None:
    actor = staff()
    project = make_project(actor=actor, status="draft")
    services.project_transition(
        project_id=project.pk, actor=actor, to_status="active", reason="Go."
    )
    services.project_transition(
        project_id=project.pk, actor=actor, to_status="paused", reason="Client pause."
    )
    history = list(
        ProjectStatusChange.objects.filter(project=project).values_list("from_status", "to_status")
    )
    assert history == [("", "draft"), ("draft", "active"), ("active", "paused")]
