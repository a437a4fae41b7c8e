"""Fair-pay watch: the measured effective rate of per-task projects, and top-ups to the floor."""

from decimal import Decimal

import pytest

from marketplace import services
from marketplace.models import EarningEntry
from tests.marketplace.helpers import make_project, qualified, staff

pytestmark = pytest.mark.django_db


def task(project, person, seconds: int, source: str) -> EarningEntry:
    return services.earning_record_task(
        contributor=person,
        project=project,
        source_id=source,
        active_seconds=seconds,
        multiplier=Decimal("1.00"),
    )


def test_the_report_puts_a_project_whose_tasks_take_too_long_below_the_floor() -> None:
    slow = make_project(
        title="slow", pay_model="per_task", task_minutes=5, pay_rate=Decimal("24")
    )  # 2.00 a task
    person = qualified("general")
    for index, seconds in enumerate([480, 600, 720]):  # median 10 minutes: 12.00/h
        task(slow, person, seconds, f"s{index}")
    row = services.fair_pay_report(viewer=staff())[0]
    assert (row.project, row.tasks, row.median_minutes) == (slow, 3, Decimal("10.0"))
    assert (row.task_price, row.effective_rate, row.floor, row.below_floor) == (
        Decimal("2.00"),
        Decimal("12.00"),
        Decimal("20.00"),
        True,
    )


def test_a_top_up_brings_each_affected_person_to_the_floor_once() -> None:
    project = make_project(pay_model="per_task", task_minutes=5, pay_rate=Decimal("24"))
    slow, quick = qualified("general"), qualified("general")
    for index in range(3):
        task(project, slow, 900, f"slow{index}")  # 45 minutes for 6.00: owed 15.00 at the floor
        task(project, quick, 120, f"quick{index}")  # 6 minutes for 6.00: above the floor already
    actor = staff()

    created = services.fair_pay_top_up(project_id=project.pk, actor=actor, reason="Fair pay.")
    again = services.fair_pay_top_up(project_id=project.pk, actor=actor, reason="Fair pay.")

    assert [(entry.contributor, entry.amount, entry.kind) for entry in created] == [
        (slow, Decimal("9.00"), "adjustment")
    ]
    assert again == []
    task(project, slow, 900, "slow-more")
    later = services.fair_pay_top_up(project_id=project.pk, actor=actor, reason="Fair pay.")
    assert [entry.amount for entry in later] == [Decimal("3.00")]  # only the new task's shortfall
