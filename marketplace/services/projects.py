"""Creating and changing projects: validated against the tier floor, status by transitions."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from common.errors import InvalidInput, NotFound, PermissionDenied
from common.money import CURRENCIES, quantize
from contributors.choices import spoken_languages
from contributors.models import User
from contributors.qualifications import qualification_is_known
from marketplace.errors import InvalidProjectTransition, RateBelowFloor
from marketplace.models import (
    Project,
    ProjectLanguage,
    ProjectRateChange,
    ProjectRequirement,
    ProjectStatusChange,
    Tier,
)
from marketplace.selectors import tier_floor_at

logger = logging.getLogger(__name__)

Status = Project.Status
PROJECT_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.ACTIVE}),
    Status.ACTIVE: frozenset({Status.PAUSED, Status.COMPLETED}),
    Status.PAUSED: frozenset({Status.ACTIVE, Status.COMPLETED}),
    Status.COMPLETED: frozenset({Status.ARCHIVED}),
    Status.ARCHIVED: frozenset(),
}
FIELDS = (
    "title",
    "description",
    "instructions",
    "deliverables",
    "tier",
    "pay_model",
    "pay_rate",
    "currency",
    "task_minutes",
    "time_commitment",
    "capacity",
    "priority",
    "starts_on",
    "ends_on",
)


def _require_manager(actor: User) -> None:
    if not actor.has_perm("marketplace.change_project"):
        raise PermissionDenied("Only staff may manage projects.")


def project_check(
    project: Project, *, requires_all: list[str], requires_any: list[str], languages: list[str]
) -> None:
    """Every problem of a project at once, by field; nothing is saved if there is one."""
    errors: dict[str, list[str]] = {}
    try:
        project.full_clean(exclude=["created_by", "status"], validate_unique=False)
    except ValidationError as error:
        errors.update({field: list(messages) for field, messages in error.message_dict.items()})
    for field, codes in (("requires_all", requires_all), ("requires_any", requires_any)):
        unknown = [code for code in codes if not qualification_is_known(code)]
        if unknown:
            errors[field] = [f"Unknown qualification: {', '.join(unknown)}."]
    overlap = set(requires_all) & set(requires_any)
    if overlap:
        errors["requires_any"] = [
            f"Listed as both all-of and any-of: {', '.join(sorted(overlap))}."
        ]
    unknown_languages = [code for code in languages if code not in spoken_languages()]
    if unknown_languages:
        errors["languages"] = [f"Unknown language code: {', '.join(unknown_languages)}."]
    if project.currency not in CURRENCIES:
        errors["currency"] = [f"Choose one of: {', '.join(CURRENCIES)}."]
    if project.pay_model == Project.PayModel.PER_TASK and not project.task_minutes:
        errors["task_minutes"] = ["A per-task project needs the estimated minutes per task."]
    if errors:
        raise InvalidInput("Invalid project: " + ", ".join(sorted(errors)), fields=errors)
    if project.tier in Tier.values and project.pay_rate is not None:
        floor = tier_floor_at(tier=project.tier)
        if project.currency != floor.currency:
            raise InvalidInput(
                fields={"currency": [f"The {project.tier} tier is paid in {floor.currency}."]}
            )
        if project.pay_rate < floor.amount:
            raise RateBelowFloor(
                f"The rate {project.pay_rate} is below the {project.get_tier_display()} floor of "
                f"{floor.amount} {floor.currency} an hour.",
                fields={
                    "pay_rate": [f"At least {floor.amount} {floor.currency} an hour for this tier."]
                },
            )


def _write_lists(
    project: Project, requires_all: list[str], requires_any: list[str], languages: list[str]
) -> None:
    project.requirements.all().delete()
    ProjectRequirement.objects.bulk_create(
        [
            ProjectRequirement(project=project, code=code, mode="all")
            for code in dict.fromkeys(requires_all)
        ]
        + [
            ProjectRequirement(project=project, code=code, mode="any")
            for code in dict.fromkeys(requires_any)
        ]
    )
    project.languages.all().delete()
    ProjectLanguage.objects.bulk_create(
        ProjectLanguage(project=project, language=code) for code in dict.fromkeys(languages)
    )


@transaction.atomic
def project_create(
    *,
    actor: User,
    data: Mapping[str, Any],
    requires_all: list[str] = (),  # type: ignore[assignment]
    requires_any: list[str] = (),  # type: ignore[assignment]
    languages: list[str] = (),  # type: ignore[assignment]
) -> Project:
    """Create a project as a draft; its rate may not be below its tier's floor."""
    _require_manager(actor)
    project = Project(**{key: data[key] for key in FIELDS if key in data}, created_by=actor)
    if project.pay_rate is not None:
        project.pay_rate = quantize(project.pay_rate)
    project_check(
        project,
        requires_all=list(requires_all),
        requires_any=list(requires_any),
        languages=list(languages),
    )
    project.save()
    _write_lists(project, list(requires_all), list(requires_any), list(languages))
    ProjectStatusChange.objects.create(
        project=project, from_status="", to_status=project.status, actor=actor, reason="Created."
    )
    ProjectRateChange.objects.create(
        project=project, new_rate=project.pay_rate, currency=project.currency, actor=actor
    )
    logger.info("project.created", extra={"project_id": project.pk})
    return project


def project_get_for_update(*, project_id: int) -> Project:
    try:
        return Project.objects.select_for_update().get(pk=project_id)
    except Project.DoesNotExist as error:
        raise NotFound(f"Project {project_id} does not exist.") from error


@transaction.atomic
def project_update(
    *,
    project_id: int,
    actor: User,
    data: Mapping[str, Any],
    requires_all: list[str] | None = None,
    requires_any: list[str] | None = None,
    languages: list[str] | None = None,
) -> Project:
    """Change a project's fields; a rate change is recorded and never touches past earnings."""
    _require_manager(actor)
    project = project_get_for_update(project_id=project_id)
    old_rate = project.pay_rate
    for key in FIELDS:
        if key in data:
            setattr(project, key, data[key])
    project.pay_rate = quantize(project.pay_rate)
    current_all = [r.code for r in project.requirements.all() if r.mode == "all"]
    current_any = [r.code for r in project.requirements.all() if r.mode == "any"]
    current_languages = [language.language for language in project.languages.all()]
    requires_all = current_all if requires_all is None else list(requires_all)
    requires_any = current_any if requires_any is None else list(requires_any)
    languages = current_languages if languages is None else list(languages)
    project_check(
        project, requires_all=requires_all, requires_any=requires_any, languages=languages
    )
    project.save()
    _write_lists(project, requires_all, requires_any, languages)
    if project.pay_rate != old_rate:
        ProjectRateChange.objects.create(
            project=project,
            old_rate=old_rate,
            new_rate=project.pay_rate,
            currency=project.currency,
            actor=actor,
        )
    return project


@transaction.atomic
def project_transition(
    *, project_id: int, actor: User, to_status: str, reason: str = ""
) -> Project:
    """Move a project along draft → active ⇄ paused → completed → archived."""
    _require_manager(actor)
    project = project_get_for_update(project_id=project_id)
    if to_status not in PROJECT_TRANSITIONS.get(project.status, frozenset()):
        allowed = (
            ", ".join(sorted(PROJECT_TRANSITIONS.get(project.status, frozenset()))) or "nothing"
        )
        raise InvalidProjectTransition(
            f"A {project.status} project cannot become {to_status}; it can become: {allowed}.",
            fields={"status": [f"Not allowed from {project.status}."]},
        )
    if to_status == Status.ACTIVE:
        project_check(
            project,
            requires_all=[r.code for r in project.requirements.all() if r.mode == "all"],
            requires_any=[r.code for r in project.requirements.all() if r.mode == "any"],
            languages=[language.language for language in project.languages.all()],
        )
    ProjectStatusChange.objects.create(
        project=project,
        from_status=project.status,
        to_status=to_status,
        actor=actor,
        reason=reason.strip(),
    )
    project.status = to_status
    project.save(update_fields=["status", "updated_at"])
    logger.info("project.status_changed", extra={"project_id": project.pk, "to_status": to_status})
    return project


def task_price(project: Project) -> Decimal:
    """What one task of a per-task project pays at base rate: the hourly rate × its estimate."""
    return quantize(project.pay_rate * Decimal(project.task_minutes or 0) / Decimal(60))
