"""Staff set a project's quality rules and its gold tasks."""

from __future__ import annotations

import logging
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Greatest

from common.errors import InvalidInput, NotFound, PermissionDenied
from contributors.models import User
from evaluations.answers import answers_check
from evaluations.checks import COMPARABLE
from evaluations.errors import NoForm
from evaluations.models import GoldAnswer, QualitySettings, Task
from evaluations.selectors import form_current, form_schema, quality_settings_for, settings_for

logger = logging.getLogger(__name__)
MANAGE = "marketplace.change_project"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
SETTINGS = {
    field.name
    for field in QualitySettings._meta.get_fields()
    if field.concrete and field.name not in ("id", "project")
}


def _require_manager(actor: User) -> None:
    if not actor.has_perm(MANAGE):
        raise PermissionDenied("Only staff change a project's quality rules.")


def _rubric_problems(rubric: Any) -> list[str]:
    if not isinstance(rubric, list) or not 1 <= len(rubric) <= 10:
        return ["Give 1 to 10 criteria as [{name, label, max}]."]
    problems, names = [], set()
    for index, item in enumerate(rubric):
        if not isinstance(item, dict) or set(item) != {"name", "label", "max"}:
            problems.append(f"Criterion {index + 1}: give exactly name, label and max.")
            continue
        if not isinstance(item["name"], str) or not _NAME.match(item["name"]):
            problems.append(f"Criterion {index + 1}: name is lower-case letters, digits and _.")
        elif item["name"] in names:
            problems.append(f"Criterion {index + 1}: {item['name']!r} is used twice.")
        names.add(item["name"])
        if not isinstance(item["label"], str) or not 1 <= len(item["label"].strip()) <= 200:
            problems.append(f"Criterion {index + 1}: label is 1 to 200 characters.")
        if not isinstance(item["max"], int) or isinstance(item["max"], bool):
            problems.append(f"Criterion {index + 1}: max is a whole number.")
        elif not 1 <= item["max"] <= 10:
            problems.append(f"Criterion {index + 1}: max is 1 to 10.")
    return problems


def quality_settings_set(*, project_id: int, actor: User, **values: Any) -> QualitySettings:
    """Change a project's checks, gold ratio and review rules; they apply from now on."""
    _require_manager(actor)
    unknown = set(values) - SETTINGS
    if unknown:
        raise InvalidInput(fields={name: ["Unknown setting."] for name in sorted(unknown)})
    if "rubric" in values and (problems := _rubric_problems(values["rubric"])):
        raise InvalidInput("The review rubric is not valid.", fields={"rubric": problems})
    with transaction.atomic():
        current = quality_settings_for(project=project_id)
        for name, value in values.items():
            setattr(current, name, value)
        try:
            current.full_clean(exclude=["project"])
        except ValidationError as error:
            raise InvalidInput(
                "Invalid quality settings: " + ", ".join(error.message_dict),
                fields=error.message_dict,
            ) from error
        current.save()
        if "gold_max_shows" in values:
            # Gold tasks are retired once shown this often: their overlap is the limit.
            Task.objects.filter(project_id=project_id, is_gold=True).update(
                overlap=Greatest("filled", current.gold_max_shows)
            )
    logger.info("quality.settings_set", extra={"project_id": project_id})
    return current


def _task_for_staff(*, task_id: int, actor: User) -> Task:
    _require_manager(actor)
    try:
        return Task.objects.select_for_update().get(pk=task_id)
    except Task.DoesNotExist as error:
        raise NotFound(f"Task {task_id} does not exist.") from error


@transaction.atomic
def gold_set(*, task_id: int, actor: User, answers: Any, tolerances: Any = None) -> GoldAnswer:
    """Make a task gold with its expected answers (checked against the current form).

    A gold task leaves the normal queue; it is shown to at most the project's gold limit of
    people, each at most once.
    """
    task = _task_for_staff(task_id=task_id, actor=actor)
    form_row = form_current(project=task.project_id)
    if form_row is None:
        raise NoForm()
    form = form_schema(form_row)
    clean, problems = answers_check(
        form=form, responses=task.responses, code=task.code, answers=answers, partial=True
    )
    by_name = {question.name: question for question in form.questions}
    comparable = [name for name in clean if by_name[name].type in COMPARABLE]
    if not problems and not comparable:
        problems["answers"] = [
            "Give the expected answer of at least one rating, preference, ranking or label "
            "question; free text, spans and code findings are not compared."
        ]
    tolerances = tolerances or {}
    if not isinstance(tolerances, dict):
        problems["tolerances"] = ["Expected an object {rating question: points}."]
    else:
        for name, value in tolerances.items():
            question = by_name.get(name)
            if question is None or question.type != "rating":
                problems[f"tolerances.{name}"] = ["Not a rating question of this form."]
            elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
                problems[f"tolerances.{name}"] = ["Give a whole number of points, 0 or more."]
            elif value > question.max - question.min:
                problems[f"tolerances.{name}"] = ["Wider than the whole scale."]
    if problems:
        raise InvalidInput(
            "The gold answer does not fit the form: " + ", ".join(sorted(problems)),
            fields=problems,
        )
    shows = quality_settings_for(project=task.project_id).gold_max_shows
    task.is_gold = True
    task.overlap = max(task.filled, shows)
    task.save(update_fields=["is_gold", "overlap"])
    gold, _created = GoldAnswer.objects.update_or_create(
        task=task,
        defaults={"answers": clean, "tolerances": tolerances, "created_by": actor},
    )
    logger.info("gold.set", extra={"task_id": task.pk})
    return gold


@transaction.atomic
def gold_unset(*, task_id: int, actor: User) -> Task:
    """Return a gold task to the normal queue with the project's overlap."""
    task = _task_for_staff(task_id=task_id, actor=actor)
    GoldAnswer.objects.filter(task=task).delete()
    task.is_gold = False
    task.overlap = max(task.filled, settings_for(project=task.project_id).overlap)
    task.save(update_fields=["is_gold", "overlap"])
    return task
