"""Pay periods cut from the payout settings: consecutive, never overlapping, made on demand."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import InvalidInput, PermissionDenied
from contributors.models import User
from marketplace.models import PayoutAudit, PayoutSettings, PayPeriod

logger = logging.getLogger(__name__)

REVIEW_PERMISSION = "marketplace.review_payouts"
SETTINGS_FIELDS = (
    "length",
    "cutoff_weekday",
    "cutoff_day",
    "cutoff_time",
    "time_zone",
    "minimum_amount",
    "four_eyes_amount",
    "rise_factor",
    "task_time_factor",
    "gold_accuracy_below",
    "rejected_share_above",
)


def finance_check(actor: User) -> None:
    if not actor.is_active or not actor.has_perm(REVIEW_PERMISSION):
        raise PermissionDenied("Only finance admins review and pay payouts.")


def payout_settings() -> PayoutSettings:
    settings, _created = PayoutSettings.objects.get_or_create(pk=1)
    return settings


@transaction.atomic
def payout_settings_update(*, actor: User, **changes: object) -> PayoutSettings:
    """Change how periods are cut and payouts reviewed; periods already made keep their bounds."""
    finance_check(actor)
    unknown = sorted(set(changes) - set(SETTINGS_FIELDS))
    if unknown:
        raise InvalidInput(fields={name: ["Unknown setting."] for name in unknown})
    settings = PayoutSettings.objects.select_for_update().get(pk=payout_settings().pk)
    before = {name: str(getattr(settings, name)) for name in changes}
    for name, value in changes.items():
        setattr(settings, name, value)
    from django.core.exceptions import ValidationError

    try:
        settings.full_clean()
    except ValidationError as error:
        raise InvalidInput(
            "Invalid payout settings: " + ", ".join(sorted(error.message_dict)),
            fields=error.message_dict,
        ) from error
    settings.updated_by = actor
    settings.save()
    PayoutAudit.objects.create(
        actor=actor,
        action="settings_changed",
        data={"before": before, "after": {name: str(getattr(settings, name)) for name in changes}},
    )
    return settings


def _at(day: datetime, settings: PayoutSettings, zone: ZoneInfo) -> datetime:
    cutoff = settings.cutoff_time
    if isinstance(cutoff, str):
        cutoff = time.fromisoformat(cutoff)
    return datetime.combine(day.date(), cutoff, tzinfo=zone)


def _next_weekly(after: datetime, settings: PayoutSettings, zone: ZoneInfo) -> datetime:
    local = after.astimezone(zone)
    days = (settings.cutoff_weekday - local.weekday()) % 7
    candidate = _at(local + timedelta(days=days), settings, zone)
    if candidate <= after:
        candidate = _at(local + timedelta(days=days + 7), settings, zone)
    return candidate


def _next_monthly(after: datetime, settings: PayoutSettings, zone: ZoneInfo) -> datetime:
    local = after.astimezone(zone)
    candidate = _at(local.replace(day=settings.cutoff_day), settings, zone)
    if candidate <= after:
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        candidate = _at(
            local.replace(year=year, month=month, day=settings.cutoff_day), settings, zone
        )
    return candidate


def next_cutoff(after: datetime, settings: PayoutSettings) -> datetime:
    """The first cut-off strictly after `after`, in UTC: the end of the period starting then."""
    zone = ZoneInfo(settings.time_zone)
    if settings.length == PayoutSettings.Length.MONTHLY:
        cutoff = _next_monthly(after, settings, zone)
    else:
        cutoff = _next_weekly(after, settings, zone)
        if settings.length == PayoutSettings.Length.BIWEEKLY:
            cutoff = _next_weekly(cutoff, settings, zone)
    return cutoff.astimezone(UTC)


def previous_cutoff(at: datetime, settings: PayoutSettings) -> datetime:
    """The last cut-off at or before `at` (weekly steps for weekly and two-weekly periods)."""
    zone = ZoneInfo(settings.time_zone)
    if settings.length == PayoutSettings.Length.MONTHLY:
        local = at.astimezone(zone)
        candidate = _at(local.replace(day=settings.cutoff_day), settings, zone)
        if candidate > at:
            year, month = (
                (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
            )
            candidate = _at(
                local.replace(year=year, month=month, day=settings.cutoff_day), settings, zone
            )
        return candidate.astimezone(UTC)
    candidate = _next_weekly(at - timedelta(days=7), settings, zone)
    while candidate > at:  # pragma: no cover - the step above already lands at or before
        candidate -= timedelta(days=7)
    return candidate.astimezone(UTC)


def periods_ensure(*, now: datetime | None = None) -> list[PayPeriod]:
    """Make the periods up to the one holding `now`, each starting where the last one ended.

    The first period starts at the last cut-off before now. Returns the periods made. Safe to
    run concurrently: the unique start decides which of two racing makers writes a period.
    """
    now = now or timezone.now()
    settings = payout_settings()
    made = []
    last = PayPeriod.objects.order_by("-ends_at").first()
    start = last.ends_at if last else previous_cutoff(now, settings)
    while last is None or last.ends_at <= now:
        end = next_cutoff(start, settings)
        try:
            with transaction.atomic():
                last = PayPeriod.objects.create(
                    starts_at=start, ends_at=end, time_zone=settings.time_zone
                )
            made.append(last)
        except IntegrityError:
            last = PayPeriod.objects.get(starts_at=start)
        start = last.ends_at
    if made:
        logger.info("payouts.periods_made", extra={"count": len(made)})
    return made


def period_current(*, now: datetime | None = None) -> PayPeriod:
    now = now or timezone.now()
    periods_ensure(now=now)
    return PayPeriod.objects.get(starts_at__lte=now, ends_at__gt=now)
