"""The contributor status machine: every change goes through here and is written to history."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from common.errors import InvalidInput, PermissionDenied
from contributors.errors import InvalidStatusTransition
from contributors.models import ContributorProfile, ContributorStatusChange, User
from contributors.selectors import profile_get_for_update

Status = ContributorProfile.Status

# applicant → assessing → active | not_approved; staff may suspend from any status and reinstate
# to the status the profile had before.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.APPLICANT: frozenset({Status.ASSESSING, Status.SUSPENDED}),
    Status.ASSESSING: frozenset({Status.ACTIVE, Status.NOT_APPROVED, Status.SUSPENDED}),
    Status.ACTIVE: frozenset({Status.SUSPENDED}),
    Status.NOT_APPROVED: frozenset({Status.SUSPENDED}),
    Status.SUSPENDED: frozenset(
        {Status.APPLICANT, Status.ASSESSING, Status.ACTIVE, Status.NOT_APPROVED}
    ),
}


def status_transition(
    *,
    profile: ContributorProfile,
    to_status: str,
    actor: User | None,
    reason: str,
    update_fields: tuple[str, ...] = (),
) -> ContributorProfile:
    """Move a locked profile to `to_status` and record who, when and why.

    The caller holds the profile's row lock inside a transaction; `update_fields` names other
    fields the caller changed on the profile, saved in the same write.
    """
    if not reason.strip():
        raise InvalidInput(
            "Give a reason for the change.", fields={"reason": ["This field is required."]}
        )
    if to_status not in STATUS_TRANSITIONS[profile.status]:
        raise InvalidStatusTransition(
            f"A {profile.get_status_display().lower()} contributor cannot become "
            f"{Status(to_status).label.lower()}."
        )
    from_status = profile.status
    profile.status = to_status
    profile.status_changed_at = timezone.now()
    profile.save(update_fields=["status", "status_changed_at", "updated_at", *update_fields])
    ContributorStatusChange.objects.create(
        profile=profile,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        reason=reason.strip(),
        created_at=profile.status_changed_at,
    )
    # A suspended account cannot log in, and its sessions and tokens stop working at once:
    # Django's and DRF's authentication refuse users whose is_active is off.
    should_be_active = to_status != Status.SUSPENDED
    if profile.user.is_active != should_be_active:
        profile.user.is_active = should_be_active
        profile.user.save(update_fields=["is_active"])
    return profile


def _require_status_permission(actor: User) -> None:
    if not actor.has_perm("contributors.change_contributor_status"):
        raise PermissionDenied("Only staff may change a contributor's status.")


@transaction.atomic
def contributor_suspend(*, profile_id: int, actor: User, reason: str) -> ContributorProfile:
    """Suspend a contributor: they can no longer log in; the history keeps why."""
    _require_status_permission(actor)
    profile = profile_get_for_update(profile_id=profile_id)
    if profile.user_id == actor.pk:
        raise PermissionDenied("You cannot suspend your own account.")
    return status_transition(
        profile=profile, to_status=Status.SUSPENDED, actor=actor, reason=reason
    )


@transaction.atomic
def contributor_reinstate(*, profile_id: int, actor: User, reason: str) -> ContributorProfile:
    """Lift a suspension, returning the profile to the status it had before it."""
    _require_status_permission(actor)
    profile = profile_get_for_update(profile_id=profile_id)
    if profile.status != Status.SUSPENDED:
        raise InvalidStatusTransition("Only a suspended contributor can be reinstated.")
    suspension = (
        profile.status_changes.filter(to_status=Status.SUSPENDED)
        .order_by("-created_at", "-id")
        .first()
    )
    previous = suspension.from_status if suspension and suspension.from_status else Status.APPLICANT
    return status_transition(profile=profile, to_status=previous, actor=actor, reason=reason)


@transaction.atomic
def contributor_decide(
    *, profile_id: int, approved: bool, actor: User | None, reason: str
) -> ContributorProfile:
    """Record the decision on an assessed applicant: active, or not approved.

    `actor` is None when the decision is the system's (an assessment's result).
    """
    if actor is not None:
        _require_status_permission(actor)
    profile = profile_get_for_update(profile_id=profile_id)
    to_status = Status.ACTIVE if approved else Status.NOT_APPROVED
    if profile.status == to_status:
        return profile  # A retried decision job must not write history twice.
    return status_transition(profile=profile, to_status=to_status, actor=actor, reason=reason)
