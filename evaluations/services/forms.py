"""A project's evaluation form and distribution settings."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min

from common.errors import InvalidInput, PermissionDenied
from contributors.models import User
from evaluations.errors import FormInvalidError
from evaluations.models import EvaluationForm, EvaluationSettings, Task
from evaluations.schema import FormInvalid, form_parse
from marketplace.services.projects import project_get_for_update

logger = logging.getLogger(__name__)


def _require_manager(actor: User) -> None:
    if not actor.has_perm("marketplace.change_project"):
        raise PermissionDenied("Only staff may change evaluation forms and settings.")


@transaction.atomic
def form_set(*, project_id: int, actor: User, schema: Any) -> EvaluationForm:
    """Set a project's form. If the current version has been used (tasks taken or answers
    given), the change becomes a new version and the old one stays for its work."""
    _require_manager(actor)
    try:
        form = form_parse(schema)
    except FormInvalid as error:
        raise FormInvalidError(
            "The form is invalid: " + ", ".join(error.problems),
            fields={f"schema.{path}": messages for path, messages in error.problems.items()},
        ) from error
    project = project_get_for_update(project_id=project_id)
    fewest = Task.objects.filter(project=project).aggregate(fewest=Min("response_count"))["fewest"]
    if fewest is not None and fewest < form.min_responses():
        raise FormInvalidError(
            f"The form needs tasks with at least {form.min_responses()} responses; "
            f"some of this project's tasks have {fewest}.",
            fields={"schema.questions": ["Does not fit the project's tasks."]},
        )
    data = form.model_dump(mode="json")
    current = EvaluationForm.objects.filter(project=project).order_by("-version").first()
    if current is not None and not current.assignments.exists():
        current.schema = data
        current.created_by = actor
        current.save(update_fields=["schema", "created_by"])
        return current
    created = EvaluationForm.objects.create(
        project=project,
        version=(current.version + 1) if current else 1,
        schema=data,
        created_by=actor,
    )
    logger.info("form.versioned", extra={"project_id": project.pk, "version": created.version})
    return created


def settings_set(*, project_id: int, actor: User, **values: Any) -> EvaluationSettings:
    """Change how tasks are handed out (overlap applies to tasks created from now on)."""
    _require_manager(actor)
    allowed = {"overlap", "lease_minutes", "daily_cap", "project_cap", "prelabel_mode"}
    unknown = set(values) - allowed
    if unknown:
        raise InvalidInput(fields={name: ["Unknown setting."] for name in sorted(unknown)})
    settings, _created = EvaluationSettings.objects.get_or_create(project_id=project_id)
    for name, value in values.items():
        setattr(settings, name, value)
    try:
        settings.full_clean(exclude=["project"])
    except ValidationError as error:
        raise InvalidInput(
            "Invalid settings: " + ", ".join(error.message_dict), fields=error.message_dict
        ) from error
    settings.save()
    return settings
