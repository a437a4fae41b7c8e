"""Quality standing: set by staff (until the quality checks set it), kept as history."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from common.errors import InvalidInput, PermissionDenied
from contributors.models import QualityScore, StandingChange, User

logger = logging.getLogger(__name__)


def standing_set(
    *,
    user: User,
    standing: str,
    set_by: User | None,
    reason: str,
    effective_at: datetime | None = None,
) -> StandingChange:
    """Record a contributor's standing from `effective_at` (now by default) on."""
    if set_by is not None and not set_by.has_perm("contributors.change_contributor_status"):
        raise PermissionDenied("Only staff may set a contributor's standing.")
    if standing not in StandingChange.Standing.values:
        raise InvalidInput(
            fields={"standing": [f"Choose one of: {', '.join(StandingChange.Standing.values)}."]}
        )
    if not reason.strip():
        raise InvalidInput(fields={"reason": ["This field is required."]})
    change = StandingChange.objects.create(
        user=user,
        standing=standing,
        set_by=set_by,
        reason=reason.strip(),
        effective_at=effective_at or timezone.now(),
    )
    logger.info("standing.set", extra={"user_id": user.pk, "standing": standing})
    return change


def quality_score_record(*, user: User, track: str, **values: object) -> QualityScore:
    """Store a contributor's recomputed quality in a track (one row per person and track)."""
    score, _created = QualityScore.objects.update_or_create(
        user=user, track=track, defaults={**values, "computed_at": timezone.now()}
    )
    return score
