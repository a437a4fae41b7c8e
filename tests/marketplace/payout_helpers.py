"""Test helpers for payouts: approved ledger entries at chosen moments, closed periods."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import count

from django.utils import timezone

from contributors.models import User
from marketplace.models import EarningEntry, PayPeriod, Project
from tests.contributors.factories import ContributorFactory, UserFactory

_keys = count(1)


def finance() -> User:
    return UserFactory(roles=("finance_admin",), is_staff=True)


def earner(*, payout_email: str | None = None, weekly_hours: int | None = None) -> User:
    user = ContributorFactory(status="active")
    profile = user.profile
    profile.payout_email = payout_email if payout_email is not None else f"pay-{user.pk}@bank.test"
    profile.weekly_availability_hours = weekly_hours
    profile.save(update_fields=["payout_email", "weekly_availability_hours"])
    return user


def earn(
    user: User,
    amount: str | Decimal,
    *,
    approved_at=None,
    state: str = "approved",
    currency: str = "USD",
    kind: str = "bonus",
    project: Project | None = None,
    hours: str | None = None,
    active_seconds: int | None = None,
    work_date=None,
    created_at=None,
) -> EarningEntry:
    """One ledger entry, approved (by default) two days ago."""
    now = timezone.now()
    key = next(_keys)
    return EarningEntry.objects.create(
        contributor=user,
        project=project,
        kind=kind,
        state=state,
        amount=Decimal(amount),
        currency=currency,
        hours=Decimal(hours) if hours else None,
        active_seconds=active_seconds,
        work_date=work_date or (now - timedelta(days=3)).date(),
        source_type="test",
        source_id=str(key),
        idempotency_key=f"test:{key}",
        created_at=created_at or now - timedelta(days=3),
        approved_at=(approved_at or now - timedelta(days=2)) if state != "pending" else None,
    )


def closed_period(*, days_ago: int = 1, length: int = 7) -> PayPeriod:
    """A period that ended `days_ago` days ago."""
    end = timezone.now() - timedelta(days=days_ago)
    return PayPeriod.objects.create(
        starts_at=end - timedelta(days=length), ends_at=end, time_zone="UTC"
    )
