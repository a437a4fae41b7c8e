"""Reads of the contributors app, scoped to who is asking."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from common.errors import NotFound
from contributors.models import (
    ContributorProfile,
    ContributorStatusChange,
    Credential,
    Qualification,
    StandingChange,
    User,
)

PROFILE_VIEW_PERMISSION = "contributors.view_contributorprofile"


def _profiles() -> QuerySet[ContributorProfile]:
    return ContributorProfile.objects.select_related("user").prefetch_related(
        "degrees", "credentials", "languages"
    )


def profile_get_for_update(*, profile_id: int) -> ContributorProfile:
    """Lock one profile row (and read its user) for a status or data change."""
    try:
        return (
            ContributorProfile.objects.select_for_update(of=("self",))
            .select_related("user")
            .get(id=profile_id)
        )
    except ContributorProfile.DoesNotExist as error:
        raise NotFound(f"Contributor profile {profile_id} does not exist.") from error


def profile_get_own(*, user: User) -> ContributorProfile:
    """The caller's own profile, or NotFound when the account has none (staff accounts)."""
    try:
        return _profiles().get(user=user)
    except ContributorProfile.DoesNotExist as error:
        raise NotFound("This account has no contributor profile.") from error


def profile_list_for_viewer(
    *,
    viewer: User,
    status: str | None = None,
    country: str | None = None,
    search: str | None = None,
) -> QuerySet[ContributorProfile]:
    """Profiles the viewer may see: staff see all, anyone else only their own."""
    profiles = _profiles().order_by("-created_at", "-id")
    if not viewer.has_perm(PROFILE_VIEW_PERMISSION):
        profiles = profiles.filter(user=viewer)
    if status:
        profiles = profiles.filter(status=status)
    if country:
        profiles = profiles.filter(country=country.upper())
    if search:
        profiles = profiles.filter(
            Q(user__email__icontains=search) | Q(user__full_name__icontains=search)
        )
    return profiles


def profile_get_for_viewer(*, profile_id: int, viewer: User) -> ContributorProfile:
    """One profile, if the viewer may see it; someone else's profile is simply not found."""
    try:
        return profile_list_for_viewer(viewer=viewer).get(id=profile_id)
    except ContributorProfile.DoesNotExist as error:
        raise NotFound(f"Contributor profile {profile_id} does not exist.") from error


def status_history_for_profile(*, profile: ContributorProfile) -> QuerySet[ContributorStatusChange]:
    return profile.status_changes.select_related("actor").order_by("created_at", "id")


def user_roles(*, user: User) -> list[str]:
    """The role names (groups) of a user, sorted."""
    return sorted(group.name for group in user.groups.all())


def qualifications_live_for_user(*, user: User) -> QuerySet[Qualification]:
    return Qualification.objects.filter(user=user, revoked_at__isnull=True).order_by(
        "granted_at", "id"
    )


def qualification_codes_for_user(*, user: User) -> set[str]:
    return set(qualifications_live_for_user(user=user).values_list("code", flat=True))


def standing_changes_until(*, user: User, at: datetime) -> QuerySet[StandingChange]:
    """A person's standing changes in force by a moment, the latest first."""
    return StandingChange.objects.filter(user=user, effective_at__lte=at).order_by(
        "-effective_at", "-id"
    )


def standing_at(*, user: User, at: datetime | None = None) -> str:
    """The standing in force at a moment (now by default): `standard` until one is set."""
    change = standing_changes_until(user=user, at=at or timezone.now()).first()
    return change.standing if change else StandingChange.Standing.STANDARD


def credential_kinds_for_user(*, user: User) -> set[str]:
    return set(Credential.objects.filter(profile__user=user).values_list("kind", flat=True))
