"""The contributor application: the profile's data, its completeness, and its submission."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from common.errors import InvalidInput, PermissionDenied
from contributors.choices import LEVELS_WITH_DEGREE
from contributors.errors import AccountSuspended, ApplicationIncomplete, EmailNotVerified
from contributors.models import ContributorProfile, Credential, Degree, LanguageSkill, User
from contributors.selectors import profile_get_for_update
from contributors.services.status import status_transition

logger = logging.getLogger(__name__)

Status = ContributorProfile.Status

PROFILE_FIELDS = (
    "education_level",
    "years_experience",
    "programming_languages",
    "expertise_areas",
    "country",
    "time_zone",
    "weekly_availability_hours",
    "payout_email",
)
NESTED: dict[str, type[models.Model]] = {
    "degrees": Degree,
    "credentials": Credential,
    "languages": LanguageSkill,
}
# Within one application a language, or a licence, is listed once.
NESTED_IDENTITY = {
    "languages": ("language",),
    "credentials": ("kind", "jurisdiction", "licence_number"),
}
REQUIRED_TO_SUBMIT = (
    "education_level",
    "years_experience",
    "country",
    "time_zone",
    "weekly_availability_hours",
    "payout_email",
    "expertise_areas",
)


def _messages(error: ValidationError) -> dict[str, list[str]]:
    return (
        error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
    )


def _require_editor(*, profile: ContributorProfile, actor: User) -> None:
    if profile.user_id != actor.pk and not actor.has_perm("contributors.change_contributorprofile"):
        raise PermissionDenied("You may only change your own profile.")
    if profile.status == Status.SUSPENDED:
        raise AccountSuspended()


def _build_nested(
    *,
    profile: ContributorProfile,
    name: str,
    items: list[Mapping[str, Any]],
    errors: dict[str, list[str]],
) -> list[models.Model]:
    model = NESTED[name]
    built: list[models.Model] = []
    seen: dict[tuple[Any, ...], int] = {}
    for index, item in enumerate(items):
        row = model(profile=profile, **item)
        try:
            row.full_clean(exclude=["profile"], validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            for field, messages in _messages(error).items():
                errors.setdefault(f"{name}.{index}.{field}", []).extend(messages)
        identity_fields = NESTED_IDENTITY.get(name)
        if identity_fields:
            identity = tuple(item.get(field) for field in identity_fields)
            if identity in seen:
                errors.setdefault(f"{name}.{index}.{identity_fields[0]}", []).append(
                    f"Already listed in row {seen[identity] + 1}."
                )
            seen.setdefault(identity, index)
        built.append(row)
    return built


@transaction.atomic
def profile_update(*, profile_id: int, actor: User, data: Mapping[str, Any]) -> ContributorProfile:
    """Change a profile's fields and replace the lists it is given, all or nothing.

    Keys left out of `data` stay as they are; a list given (`degrees`, `credentials`,
    `languages`) replaces the stored one. Every bad value is reported, by dotted path, before
    anything is written.
    """
    unknown = set(data) - {"full_name", *PROFILE_FIELDS, *NESTED}
    if unknown:
        raise InvalidInput(fields={name: ["Unknown field."] for name in sorted(unknown)})
    profile = profile_get_for_update(profile_id=profile_id)
    _require_editor(profile=profile, actor=actor)

    errors: dict[str, list[str]] = {}
    if "full_name" in data:
        full_name = (data["full_name"] or "").strip()
        if not full_name:
            errors["full_name"] = ["This field is required."]
        elif len(full_name) > 200:
            errors["full_name"] = ["Use at most 200 characters."]
        profile.user.full_name = full_name
    for field in PROFILE_FIELDS:
        if field in data:
            setattr(profile, field, data[field])
    try:
        profile.full_clean(exclude=["user"], validate_unique=False)
    except ValidationError as error:
        for field, messages in _messages(error).items():
            errors.setdefault(field, []).extend(messages)
    nested = {
        name: _build_nested(profile=profile, name=name, items=list(data[name]), errors=errors)
        for name in NESTED
        if name in data
    }
    if errors:
        raise InvalidInput("Invalid input: " + ", ".join(sorted(errors)), fields=errors)

    profile.save()
    if "full_name" in data:
        profile.user.save(update_fields=["full_name"])
    for name, rows in nested.items():
        model = NESTED[name]
        model.objects.filter(profile=profile).delete()
        model.objects.bulk_create(rows)
    logger.info("profile.updated", extra={"profile_id": profile.pk, "actor_id": actor.pk})
    return profile


def application_missing_fields(*, profile: ContributorProfile) -> dict[str, list[str]]:
    """What the application still needs before it can be submitted, by field."""
    missing: dict[str, list[str]] = {}
    required = "Required to submit the application."
    if not profile.user.full_name.strip():
        missing["full_name"] = [required]
    for field in REQUIRED_TO_SUBMIT:
        if getattr(profile, field) in (None, "", []):
            missing[field] = [required]
    if not profile.languages.exists():
        missing["languages"] = ["List at least one language you speak."]
    if profile.education_level in LEVELS_WITH_DEGREE and not profile.degrees.exists():
        missing["degrees"] = ["List your degree and its field."]
    return missing


@transaction.atomic
def application_submit(*, profile_id: int, actor: User) -> ContributorProfile:
    """Submit the application: the applicant moves on to the assessments.

    Needs a verified e-mail address and a complete application. Submitting again is a no-op.
    """
    profile = profile_get_for_update(profile_id=profile_id)
    if profile.user_id != actor.pk:
        raise PermissionDenied("Only the applicant can submit their application.")
    if profile.status == Status.SUSPENDED:
        raise AccountSuspended()
    if profile.application_submitted_at is not None:
        return profile  # A double click or a retried request must not submit twice.
    if not profile.user.is_email_verified:
        raise EmailNotVerified()
    missing = application_missing_fields(profile=profile)
    if missing:
        raise ApplicationIncomplete(
            "The application is not complete yet: " + ", ".join(sorted(missing)), fields=missing
        )
    profile.application_submitted_at = timezone.now()
    status_transition(
        profile=profile,
        to_status=Status.ASSESSING,
        actor=actor,
        reason="Application submitted.",
        update_fields=("application_submitted_at",),
    )
    logger.info("application.submitted", extra={"profile_id": profile.pk})
    return profile


@transaction.atomic
def application_save(
    *, profile_id: int, actor: User, data: Mapping[str, Any], submit: bool
) -> ContributorProfile:
    """Save the application form and, when asked, submit it, in one transaction.

    If submitting fails (unverified address, missing fields), nothing of the form is kept either.
    """
    profile = profile_update(profile_id=profile_id, actor=actor, data=data)
    if submit:
        profile = application_submit(profile_id=profile_id, actor=actor)
    return profile
