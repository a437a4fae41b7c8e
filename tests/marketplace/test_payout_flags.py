"""Risk flags on payouts, each with its evidence; pay periods cut from the settings."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from contributors.models import QualityScore
from marketplace.models import PayoutSettings, PayPeriod
from marketplace.services.payouts import (
    batch_build,
    next_cutoff,
    payout_approve,
    periods_ensure,
    previous_cutoff,
)
from tests.marketplace.helpers import make_project
from tests.marketplace.payout_helpers import closed_period, earn, earner, finance

pytestmark = pytest.mark.django_db


def _flags(payout) -> dict[str, dict]:
    return {flag.code: flag.evidence for flag in payout.flags.all()}


def _paid_history(person, amounts, admin):
    """Earlier batches for `person`, approved, one per amount, oldest first."""
    for weeks_ago, amount in zip(range(len(amounts) + 1, 1, -1), amounts, strict=True):
        earn(person, amount, approved_at=timezone.now() - timedelta(weeks=weeks_ago, days=1))
        batch = batch_build(period_id=closed_period(days_ago=7 * weeks_ago).pk)
        payout_approve(payout_id=batch.payouts.get(contributor=person).pk, actor=admin)


def test_a_clean_payout_after_history_has_no_flag():
    admin = finance()
    person = earner(weekly_hours=40)
    _paid_history(person, ["100.00", "110.00", "90.00"], admin)
    earn(person, "105.00")
    payout = batch_build(period_id=closed_period().pk).payouts.get()
    assert _flags(payout) == {}
    assert not payout.flagged


def test_first_payout_and_a_sharp_rise():
    admin = finance()
    person = earner()
    _paid_history(person, ["100.00", "80.00", "120.00"], admin)
    earn(person, "400.00")
    payout = batch_build(period_id=closed_period().pk).payouts.get()
    evidence = _flags(payout)
    assert set(evidence) == {"sharp_rise"}
    assert evidence["sharp_rise"]["median_before"] == "100.00"
    assert evidence["sharp_rise"]["payouts_before"] == ["120.00", "80.00", "100.00"]
    newcomer = earner()
    earn(newcomer, "30.00", approved_at=timezone.now() - timedelta(hours=20))
    fresh = batch_build(period_id=closed_period(days_ago=0, length=1).pk).payouts.get(
        contributor=newcomer
    )
    assert set(_flags(fresh)) == {"first_payout"}


def test_hours_above_the_declared_availability_name_the_week():
    person = earner(weekly_hours=10)
    monday = timezone.localdate() - timedelta(days=timezone.localdate().weekday() + 7)
    earn(person, "100.00", kind="time", hours="8.0", work_date=monday)
    earn(person, "100.00", kind="time", hours="6.5", work_date=monday + timedelta(days=2))
    earn(person, "50.00", kind="task", active_seconds=3600, work_date=monday + timedelta(days=8))
    payout = batch_build(period_id=closed_period().pk).payouts.get()
    evidence = _flags(payout)["hours_above_availability"]
    assert evidence["declared_weekly_hours"] == 10
    assert evidence["weeks_over"] == [{"week_of": monday.isoformat(), "hours": 14.5}]


def test_time_per_task_far_from_the_projects():
    project = make_project(pay_model="per_task", task_minutes=10, pay_rate=Decimal("30.00"))
    others = [earner() for _ in range(4)]
    for other in others:
        for _ in range(6):
            earn(other, "5.00", kind="task", project=project, active_seconds=600, state="pending")
    rusher = earner()
    for _ in range(6):
        earn(rusher, "5.00", kind="task", project=project, active_seconds=60)
    payout = batch_build(period_id=closed_period().pk).payouts.get(contributor=rusher)
    evidence = _flags(payout)["task_time_outlier"]
    assert evidence["projects"][0]["project_id"] == project.pk
    assert evidence["projects"][0]["median_seconds"] == 60.0
    assert evidence["projects"][0]["ratio"] < 0.25


def test_low_gold_accuracy_and_many_rejections():
    person = earner()
    QualityScore.objects.create(
        user=person, track="general", gold_mean=0.4, gold_low=0.25, gold_high=0.56, gold_answered=20
    )
    for _ in range(5):
        task = earn(person, "4.00", kind="task", created_at=timezone.now() - timedelta(days=3))
    rejected = [earn(person, "4.00", kind="task", state="pending") for _ in range(3)]
    from marketplace.services import ledger

    for entry in rejected:
        ledger.earning_reverse(entry_id=entry.pk, actor=None, reason="Rejected in review")
    # The reversals are written now, inside the next period; so build a period that holds them.
    assert task
    payout = batch_build(period_id=closed_period(days_ago=0, length=8).pk).payouts.get()
    evidence = _flags(payout)
    assert evidence["low_gold_accuracy"]["tracks"][0]["track"] == "general"
    assert evidence["low_gold_accuracy"]["tracks"][0]["gold_answered"] == 20
    assert evidence["many_rejections"]["rejected"] == 3
    assert evidence["many_rejections"]["tasks"] == 8


def test_a_payout_email_shared_with_another_account():
    first = earner(payout_email="Shared@Bank.test")
    second = earner(payout_email="shared@bank.test")
    earn(first, "20.00")
    earn(second, "20.00")
    batch = batch_build(period_id=closed_period().pk)
    for person, other in ((first, second), (second, first)):
        evidence = _flags(batch.payouts.get(contributor=person))["shared_payout_email"]
        assert evidence["other_accounts"] == [other.pk]


def _settings(**fields) -> PayoutSettings:
    return PayoutSettings(pk=1, **fields)


def test_weekly_cutoffs_follow_the_time_zone_across_daylight_saving():
    settings = _settings(
        length="weekly", cutoff_weekday=0, cutoff_time=time(9, 0), time_zone="Europe/Berlin"
    )
    # Berlin leaves summer time on Sunday 2026-10-25: 09:00 is 07:00 UTC before, 08:00 after.
    before = next_cutoff(datetime(2026, 10, 15, 12, tzinfo=UTC), settings)
    assert before == datetime(2026, 10, 19, 7, 0, tzinfo=UTC)
    after = next_cutoff(before, settings)
    assert after == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    assert previous_cutoff(after, settings) == after
    assert previous_cutoff(after - timedelta(seconds=1), settings) == before


def test_two_weekly_and_monthly_cutoffs():
    biweekly = _settings(length="biweekly", cutoff_weekday=4, cutoff_time=time(17), time_zone="UTC")
    start = datetime(2026, 11, 6, 17, tzinfo=UTC)  # a Friday cut-off
    assert next_cutoff(start, biweekly) == datetime(2026, 11, 20, 17, tzinfo=UTC)
    monthly = _settings(length="monthly", cutoff_day=15, cutoff_time=time(0), time_zone="UTC")
    assert next_cutoff(datetime(2026, 12, 20, tzinfo=UTC), monthly) == datetime(
        2027, 1, 15, tzinfo=UTC
    )
    assert previous_cutoff(datetime(2026, 1, 3, tzinfo=UTC), monthly) == datetime(
        2025, 12, 15, tzinfo=UTC
    )


def test_periods_are_made_back_to_back_up_to_now():
    now = timezone.now()
    made = periods_ensure(now=now - timedelta(days=30))
    assert len(made) == 1
    made = periods_ensure(now=now)
    periods = list(PayPeriod.objects.order_by("starts_at"))
    assert len(periods) >= 5
    for earlier, later in itertools.pairwise(periods):
        assert earlier.ends_at == later.starts_at
        assert later.ends_at - later.starts_at == timedelta(days=7)
    assert periods[-1].starts_at <= now < periods[-1].ends_at
    assert periods_ensure(now=now) == []
