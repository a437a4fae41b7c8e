"""Eligibility for every tier and requirement mix, the dashboard's order and filters, the locked
projects' reasons and unlocks, and a query count that does not grow with the projects."""

from decimal import Decimal

import pytest
from django.urls import reverse

from assessments.services import assessment_content_load
from contributors.models import User
from contributors.services import standing_set
from marketplace import selectors
from tests.conftest import api_for
from tests.marketplace.helpers import make_project, qualified, staff

pytestmark = pytest.mark.django_db


def titles(cards) -> list[str]:
    return [card.project.title for card in cards]


@pytest.mark.parametrize(
    ("requires_all", "requires_any", "held", "open_to_them"),
    [
        ([], [], [], True),  # no requirement at all
        (["general"], [], ["general"], True),
        (["general"], [], [], False),
        (["general", "programming:python"], [], ["general"], False),  # all-of: every one
        (["general", "programming:python"], [], ["general", "programming:python"], True),
        ([], ["mathematics", "physics"], ["physics"], True),  # any-of: one is enough
        ([], ["mathematics", "physics"], ["chemistry"], False),
        (["general"], ["language:de", "language:fr"], ["general", "language:fr"], True),  # mixed
        (["general"], ["language:de", "language:fr"], ["language:fr"], False),
        (["general"], ["language:de", "language:fr"], ["general"], False),
    ],
)
def test_eligibility_for_every_requirement_mix(
    requires_all: list[str], requires_any: list[str], held: list[str], open_to_them: bool
) -> None:
    make_project(title="P", requires_all=requires_all, requires_any=requires_any)
    board = selectors.dashboard_for(user=qualified(*held))
    assert (titles(board.available), titles(board.locked)) == (
        (["P"], []) if open_to_them else ([], ["P"])
    )


@pytest.mark.parametrize(
    ("tier", "code", "rate"),
    [
        ("general", "general", "20"),
        ("multilingual", "language:es", "20"),
        ("coding", "programming:python", "40"),
        ("stem", "chemistry", "40"),
    ],
)
def test_every_tier_opens_with_its_qualification(tier: str, code: str, rate: str) -> None:
    make_project(title=tier, tier=tier, pay_rate=Decimal(rate), requires_all=[code])
    assert titles(selectors.dashboard_for(user=qualified(code)).available) == [tier]
    assert titles(selectors.dashboard_for(user=qualified("general")).available) == (
        [tier] if code == "general" else []
    )


def test_a_professional_project_also_needs_a_matching_licence() -> None:
    make_project(title="Legal", tier="professional", pay_rate=Decimal("60"), requires_all=["law"])
    without = qualified("law")
    wrong_kind = qualified("law", licences=("medicine",))
    licensed = qualified("law", licences=("law",))
    assert titles(selectors.dashboard_for(user=without).available) == []
    assert selectors.dashboard_for(user=without).locked[0].reasons == [
        "Declare a law licence in your profile."
    ]
    assert titles(selectors.dashboard_for(user=wrong_kind).available) == []
    assert titles(selectors.dashboard_for(user=licensed).available) == ["Legal"]


def test_open_projects_come_by_priority_then_effective_rate() -> None:
    make_project(title="low priority, high rate", priority=1, pay_rate=Decimal("90"))
    make_project(title="high priority, low rate", priority=5, pay_rate=Decimal("21"))
    make_project(title="high priority, high rate", priority=5, pay_rate=Decimal("30"))
    board = selectors.dashboard_for(user=qualified("general"))
    assert titles(board.available) == [
        "high priority, high rate",
        "high priority, low rate",
        "low priority, high rate",
    ]


def test_rates_shown_include_the_persons_multiplier() -> None:
    make_project(pay_rate=Decimal("30"))
    person = qualified("general")
    standing_set(user=person, standing="exceptional", set_by=staff(), reason="Top decile.")
    card = selectors.dashboard_for(user=person).available[0]
    assert (card.effective_rate, selectors.dashboard_for(user=person).multiplier) == (
        Decimal("37.50"),
        Decimal("1.25"),
    )


def test_drafts_paused_and_out_of_date_projects_stay_off_the_dashboard() -> None:
    from datetime import date

    make_project(title="draft", status="draft")
    make_project(title="paused", status="paused")
    make_project(title="ended", ends_on=date(2020, 1, 1), starts_on=date(2019, 1, 1))
    make_project(title="open")
    assert titles(selectors.dashboard_for(user=qualified("general")).available) == ["open"]


def test_filters_by_tier_language_and_pay_model() -> None:
    make_project(title="en hourly", languages=["en"])
    make_project(title="de per task", languages=["de"], pay_model="per_task", task_minutes=5)
    make_project(title="coding", tier="coding", pay_rate=Decimal("40"), requires_all=["general"])
    person = qualified("general")
    assert titles(selectors.dashboard_for(user=person, language="de").available) == ["de per task"]
    assert titles(selectors.dashboard_for(user=person, pay_model="per_task").available) == [
        "de per task"
    ]
    assert titles(selectors.dashboard_for(user=person, tier="coding").available) == ["coding"]


def test_a_locked_project_names_the_assessment_that_unlocks_it() -> None:
    assessment_content_load()
    make_project(
        title="Python review",
        tier="coding",
        pay_rate=Decimal("45"),
        requires_all=["general", "programming:python"],
    )
    locked = selectors.dashboard_for(user=qualified("general")).locked[0]
    assert locked.reasons == ["Needs Python programming."]
    assert locked.unlock == [
        {"title": "Coding Assessment (Python and JavaScript)", "url": "/assessments/coding/"}
    ]


def test_the_dashboard_query_count_does_not_grow_with_projects(django_assert_num_queries) -> None:
    person = qualified("general")
    for index in range(3):
        make_project(title=f"open {index}")
        make_project(title=f"locked {index}", requires_all=["mathematics"])
    client = api_for(User.objects.get(pk=person.pk))
    with django_assert_num_queries(QUERIES) as few:
        client.get(reverse("dashboard"))
    for index in range(3, 30):
        make_project(title=f"open {index}")
        make_project(title=f"locked {index}", requires_all=["mathematics"])
    client = api_for(User.objects.get(pk=person.pk))
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(reverse("dashboard"))


# Session-less API call: user's qualifications, licences, standing, multiplier, memberships;
# the open page with its count, requirements and languages; the work left (one query for all
# shown); the locked page with its count, requirements and languages; the unlock hints.
QUERIES = 15
