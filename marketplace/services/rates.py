"""Tier floors and standing multipliers: set from a moment on, never rewritten."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import InvalidInput, PermissionDenied
from common.money import CURRENCIES, quantize
from contributors.models import User
from marketplace.models import STANDINGS, MultiplierRate, Tier, TierFloor

logger = logging.getLogger(__name__)


def _require(actor: User, permission: str) -> None:
    if not actor.has_perm(permission):
        raise PermissionDenied("Only staff may change rates.")


def tier_floor_set(
    *,
    tier: str,
    amount: Decimal,
    currency: str,
    actor: User,
    reason: str,
    effective_from: datetime | None = None,
) -> TierFloor:
    """Set a tier's floor from `effective_from` (now by default). Earnings already recorded
    keep the rates they were recorded with."""
    _require(actor, "marketplace.add_tierfloor")
    errors: dict[str, list[str]] = {}
    if tier not in Tier.values:
        errors["tier"] = [f"Choose one of: {', '.join(Tier.values)}."]
    if amount is None or amount <= 0:
        errors["amount"] = ["The floor must be more than zero."]
    if currency not in CURRENCIES:
        errors["currency"] = [f"Choose one of: {', '.join(CURRENCIES)}."]
    if not reason.strip():
        errors["reason"] = ["This field is required."]
    if errors:
        raise InvalidInput("Invalid floor: " + ", ".join(sorted(errors)), fields=errors)
    try:
        with transaction.atomic():
            floor = TierFloor.objects.create(
                tier=tier,
                amount=quantize(amount),
                currency=currency,
                effective_from=effective_from or timezone.now(),
                set_by=actor,
                reason=reason.strip(),
            )
    except IntegrityError as error:
        raise InvalidInput(
            fields={"effective_from": ["A floor already starts at that moment."]}
        ) from error
    logger.info("tier.floor_set", extra={"tier": tier, "amount": str(floor.amount)})
    return floor


def multiplier_set(
    *,
    standing: str,
    multiplier: Decimal,
    actor: User,
    reason: str,
    effective_from: datetime | None = None,
) -> MultiplierRate:
    """Set what a standing multiplies pay by, from `effective_from` (now by default)."""
    _require(actor, "marketplace.add_multiplierrate")
    errors: dict[str, list[str]] = {}
    if standing not in STANDINGS:
        errors["standing"] = [f"Choose one of: {', '.join(STANDINGS)}."]
    if multiplier is None or not Decimal(0) < multiplier <= Decimal(3):
        errors["multiplier"] = ["Use a multiplier above 0 and at most 3."]
    if not reason.strip():
        errors["reason"] = ["This field is required."]
    if errors:
        raise InvalidInput("Invalid multiplier: " + ", ".join(sorted(errors)), fields=errors)
    return MultiplierRate.objects.create(
        standing=standing,
        multiplier=multiplier.quantize(Decimal("0.01")),
        effective_from=effective_from or timezone.now(),
        set_by=actor,
        reason=reason.strip(),
    )


DEFAULT_FROM = datetime(2000, 1, 1, tzinfo=UTC)
DEFAULT_FLOORS = {
    "general": "20",
    "multilingual": "20",
    "coding": "40",
    "stem": "40",
    "professional": "50",
}
DEFAULT_MULTIPLIERS = {"standard": "1.00", "strong": "1.10", "exceptional": "1.25"}


def rates_defaults_ensure(**_: object) -> None:
    """Give every tier and standing a rate if it has none (DESIGN.md's defaults).

    Runs after every migrate and every flush (the test suite's), so a database never lacks them.
    """
    for tier, amount in DEFAULT_FLOORS.items():
        if not TierFloor.objects.filter(tier=tier).exists():
            TierFloor.objects.create(
                tier=tier,
                amount=Decimal(amount),
                currency="USD",
                effective_from=DEFAULT_FROM,
                reason="Default floor (DESIGN.md).",
            )
    for standing, multiplier in DEFAULT_MULTIPLIERS.items():
        if not MultiplierRate.objects.filter(standing=standing).exists():
            MultiplierRate.objects.create(
                standing=standing,
                multiplier=Decimal(multiplier),
                effective_from=DEFAULT_FROM,
                reason="Default multiplier.",
            )
