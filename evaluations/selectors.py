"""Reads of evaluation work, scoped to who asks."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse

from common.errors import NotFound
from contributors.models import User
from evaluations.models import (
    Assignment,
    EvaluationForm,
    EvaluationSettings,
    PreLabel,
    QualitySettings,
    Submission,
    Task,
)
from evaluations.schema import Form, form_parse
from marketplace.models import Project

WORK_LEFT_CAP = 1000
MANAGE = "marketplace.change_project"


def settings_for(*, project: Project | int) -> EvaluationSettings:
    """A project's evaluation settings (the defaults when none were set)."""
    project_id = project if isinstance(project, int) else project.pk
    found = EvaluationSettings.objects.filter(project_id=project_id).first()
    return found or EvaluationSettings(project_id=project_id)


def quality_settings_for(*, project: Project | int) -> QualitySettings:
    """A project's quality settings (the defaults when none were set)."""
    project_id = project if isinstance(project, int) else project.pk
    found = QualitySettings.objects.filter(project_id=project_id).first()
    return found or QualitySettings(project_id=project_id)


def quality_settings_of(project: Project) -> QualitySettings:
    """Like quality_settings_for, from a project loaded with select_related of its settings
    (no query)."""
    try:
        return project.quality_settings
    except QualitySettings.DoesNotExist:
        return QualitySettings(project=project)


def form_current(*, project: Project | int) -> EvaluationForm | None:
    project_id = project if isinstance(project, int) else project.pk
    return EvaluationForm.objects.filter(project_id=project_id).order_by("-version").first()


@lru_cache(maxsize=512)
def _parsed(canonical: bytes) -> Form:
    return form_parse(orjson.loads(canonical))


def form_schema(form: EvaluationForm) -> Form:
    """The checked schema of a form, parsed once per distinct content (an unused version may
    still be edited in place, so the cache is keyed by what the schema says, not its id)."""
    return _parsed(orjson.dumps(form.schema, option=orjson.OPT_SORT_KEYS))


def tasks_left_for(user: User, projects: list[Project]) -> dict[int, int]:
    """Open tasks this person has not had yet, per project, counted up to WORK_LEFT_CAP + 1.

    One query for all the projects: the count stops at the cap, so it costs the same on a
    project of a thousand tasks or of millions.
    """
    ids = [project.pk for project in projects]
    if not ids:
        return {}
    counted = Project.objects.filter(pk__in=ids).annotate(
        left=RawSQL(
            "SELECT COUNT(*) FROM (SELECT 1 FROM evaluations_task t WHERE t.project_id = "
            "marketplace_project.id AND t.filled < t.overlap AND NOT t.is_gold AND NOT EXISTS ("
            "SELECT 1 FROM "
            "evaluations_assignment a WHERE a.task_id = t.id AND a.contributor_id = %s) "
            "LIMIT %s) AS open_tasks",
            (user.pk, WORK_LEFT_CAP + 1),
        )
    )
    return dict(counted.values_list("pk", "left"))


def assignment_get_own(*, assignment_id: int, user: User) -> Assignment:
    try:
        return Assignment.objects.select_related("task", "project", "form").get(
            pk=assignment_id, contributor=user
        )
    except Assignment.DoesNotExist as error:
        raise NotFound(f"Assignment {assignment_id} does not exist.") from error


def task_view(*, assignment: Assignment) -> dict[str, Any]:
    """What the workspace shows of a task: its responses in this person's order, lettered."""
    task = assignment.task
    by_id = {response["id"]: response for response in task.responses}
    responses = [
        {
            "id": rid,
            "letter": chr(ord("A") + index),
            "text": by_id[rid]["text"],
            "model": by_id[rid].get("model", ""),
        }
        for index, rid in enumerate(assignment.response_order)
        if rid in by_id
    ]
    return {
        "id": task.pk,
        "prompt": task.prompt,
        "conversation": task.conversation,
        "responses": responses,
        "code": task.code,
        "has_tests": bool(task.tests),
        "reference": task.reference,
    }


def prelabels_for(*, task: Task) -> dict[str, dict[str, Any]]:
    if not task.has_prelabels:
        return {}
    return {
        label.question: {"value": label.value, "model": label.model_name, "score": label.score}
        for label in PreLabel.objects.filter(task=task)
    }


def prelabels_shown(*, assignment: Assignment) -> tuple[str, dict[str, dict[str, Any]]]:
    """How the project shows pre-labels, and those this person's task shows (none when hidden).

    A task without pre-labels costs no query.
    """
    if not assignment.task.has_prelabels:
        return EvaluationSettings.PrelabelMode.HIDDEN, {}
    mode = settings_for(project=assignment.project_id).prelabel_mode
    if mode == EvaluationSettings.PrelabelMode.HIDDEN:
        return mode, {}
    return mode, prelabels_for(task=assignment.task)


def submissions_for(*, user: User) -> QuerySet[Submission]:
    return Submission.objects.filter(contributor=user).select_related("project", "task")


def project_for_staff(*, project_id: int, viewer: User) -> Project:
    if not viewer.has_perm(MANAGE):
        raise NotFound(f"Project {project_id} does not exist.")
    try:
        return Project.objects.get(pk=project_id)
    except Project.DoesNotExist as error:
        raise NotFound(f"Project {project_id} does not exist.") from error


def project_actions_for(user: User, project: Project, is_member: bool) -> list[dict[str, Any]]:
    """The marketplace's project page: start or continue tasks; staff manage the tasks."""
    actions = []
    if is_member and EvaluationForm.objects.filter(project=project).exists():
        current = Assignment.objects.filter(
            project=project, contributor=user, status=Assignment.Status.ACTIVE
        ).first()
        if current is not None:
            actions.append(
                {
                    "label": "Continue your task",
                    "url": reverse("evaluations:workspace", args=[current.pk]),
                    "post": False,
                    "primary": True,
                }
            )
        else:
            actions.append(
                {
                    "label": "Start a task",
                    "url": reverse("evaluations:next", args=[project.pk]),
                    "post": True,
                    "primary": True,
                }
            )
    if user.has_perm(MANAGE):
        actions.append(
            {
                "label": "Manage tasks",
                "url": reverse("evaluations:manage", args=[project.pk]),
                "post": False,
                "primary": False,
            }
        )
        actions.append(
            {
                "label": "Quality",
                "url": reverse("evaluations:quality", args=[project.pk]),
                "post": False,
                "primary": False,
            }
        )
    return actions
