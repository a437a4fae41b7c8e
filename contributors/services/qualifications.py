"""Granting and revoking qualifications, each recorded with who, when and why."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import InvalidInput, NotFound, PermissionDenied
from contributors.models import Qualification, User
from contributors.qualifications import qualification_is_known

logger = logging.getLogger(__name__)


def qualification_grant(
    *, user: User, code: str, source: str, granted_by: User | None = None
) -> Qualification:
    """Grant a qualification; granting one already held returns the live row unchanged.

    `granted_by` is None when the system grants it (a passed assessment). The partial unique
    constraint keeps one live row per person and code even when two grants race.
    """
    if not qualification_is_known(code):
        raise InvalidInput(
            f"Unknown qualification {code!r}.", fields={"code": ["Unknown qualification."]}
        )
    if granted_by is not None and not granted_by.has_perm("contributors.change_contributor_status"):
        raise PermissionDenied("Only staff may grant qualifications by hand.")
    live = Qualification.objects.filter(user=user, code=code, revoked_at__isnull=True).first()
    if live is not None:
        return live
    try:
        with transaction.atomic():
            qualification = Qualification.objects.create(
                user=user, code=code, source=source, granted_by=granted_by
            )
    except IntegrityError:
        return Qualification.objects.get(user=user, code=code, revoked_at__isnull=True)
    logger.info("qualification.granted", extra={"user_id": user.pk, "code": code, "source": source})
    return qualification


@transaction.atomic
def qualification_revoke(*, qualification_id: int, revoked_by: User, reason: str) -> Qualification:
    """Revoke a live qualification, keeping the row and the reason."""
    if not revoked_by.has_perm("contributors.change_contributor_status"):
        raise PermissionDenied("Only staff may revoke qualifications.")
    if not reason.strip():
        raise InvalidInput("Give a reason.", fields={"reason": ["This field is required."]})
    try:
        qualification = Qualification.objects.select_for_update().get(pk=qualification_id)
    except Qualification.DoesNotExist as error:
        raise NotFound(f"Qualification {qualification_id} does not exist.") from error
    if qualification.revoked_at is not None:
        return qualification
    qualification.revoked_at = timezone.now()
    qualification.revoked_by = revoked_by
    qualification.revoked_reason = reason.strip()
    qualification.save(update_fields=["revoked_at", "revoked_by", "revoked_reason"])
    logger.info("qualification.revoked", extra={"qualification_id": qualification.pk})
    return qualification
