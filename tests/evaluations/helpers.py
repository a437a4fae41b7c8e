"""Test helpers for evaluation work: a project with a form, tasks, and people on it."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import orjson

from contributors.models import User
from evaluations.models import Task
from evaluations.services import form_set, settings_set, tasks_import
from marketplace import services as marketplace
from marketplace.models import Project
from tests.marketplace.helpers import make_project, qualified, staff

FORM = {
    "questions": [
        {
            "name": "helpfulness",
            "type": "rating",
            "prompt": "How helpful is each response?",
            "min": 1,
            "max": 7,
            "labels": {"1": "Useless", "7": "Excellent"},
        },
        {
            "name": "better",
            "type": "preference",
            "prompt": "Which response is better?",
            "strength": True,
        },
        {
            "name": "rationale",
            "type": "free_text",
            "prompt": "Why?",
            "min_length": 10,
            "max_length": 2000,
        },
    ]
}


def task_line(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "external_id": f"t{n}",
        "prompt": f"Question number {n}?",
        "responses": [
            {"id": "a", "text": f"Answer A to {n}", "model": "m1"},
            {"id": "b", "text": f"Answer B to {n}", "model": "m2"},
        ],
        **extra,
    }


def jsonl(lines: list[Any]) -> io.BytesIO:
    return io.BytesIO(
        b"".join(
            (orjson.dumps(line) if not isinstance(line, bytes) else line) + b"\n" for line in lines
        )
    )


def project_with_tasks(
    count: int = 3,
    *,
    overlap: int = 1,
    form: dict[str, Any] | None = None,
    actor: User | None = None,
    **project_fields: Any,
) -> Project:
    actor = actor or staff()
    project = make_project(actor=actor, **{"capacity": 200, **project_fields})
    settings_set(project_id=project.pk, actor=actor, overlap=overlap)
    form_set(project_id=project.pk, actor=actor, schema=form or FORM)
    if count:
        tasks_import(
            project_id=project.pk, handle=jsonl([task_line(n) for n in range(count)]), fmt="jsonl"
        )
    return project


def worker(project: Project) -> User:
    person = qualified("general")
    marketplace.membership_join(project_id=project.pk, user=person)
    return person


def good_answers(task: Task) -> dict[str, Any]:
    ids = [response["id"] for response in task.responses]
    return {
        "helpfulness": dict.fromkeys(ids, 5),
        "better": {"choice": ids[0], "strength": 2},
        "rationale": "The first one answers the question directly and correctly.",
    }


__all__ = ["Decimal"]
