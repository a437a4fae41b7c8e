"""Helpers for quality tests: reviewers, experts, and work done through the services."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group

from contributors.models import User
from evaluations import services
from evaluations.errors import NoTaskAvailable
from evaluations.models import Assignment, Submission, Task
from marketplace.models import Project
from tests.evaluations.helpers import good_answers, project_with_tasks, worker
from tests.marketplace.helpers import qualified


def reviewer(*codes: str, expert: bool = False) -> User:
    """An active contributor with the reviewer (or expert reviewer) role and qualifications."""
    person = qualified(*(codes or ("general",)))
    person.groups.add(Group.objects.get(name="expert_reviewer" if expert else "reviewer"))
    return User.objects.get(pk=person.pk)  # fresh: no cached permissions


def do_task(
    project: Project, person: User | None = None, answers: dict[str, Any] | None = None
) -> Submission:
    """Take the next task and submit answers (good ones unless given)."""
    person = person or worker(project)
    assignment = services.assignment_next(project_id=project.pk, user=person)
    task = Task.objects.get(pk=assignment.task_id)
    return services.submission_submit(
        assignment_id=assignment.pk, user=person, answers=answers or good_answers(task)
    )


def rubric_scores(points: int = 4) -> dict[str, int]:
    return {"accuracy": points, "rationale": points}


GOLD = {"helpfulness": {"a": 6, "b": 2}, "better": {"choice": "a"}}


def right_answers() -> dict[str, Any]:
    """Answers that match GOLD (within its default tolerance of one point)."""
    return {
        "helpfulness": {"a": 5, "b": 3},
        "better": {"choice": "a", "strength": 2},
        "rationale": "Response A is correct and complete; response B misses the point.",
    }


def wrong_answers() -> dict[str, Any]:
    """Answers that contradict GOLD, yet agree with themselves (no contradiction flag)."""
    return {
        "helpfulness": {"a": 2, "b": 6},
        "better": {"choice": "b", "strength": 2},
        "rationale": "Response B is the better of the two; A gets the facts wrong.",
    }


def gold_project(count: int, *, actor: User, gold_ratio: float = 0.5, **quality: Any) -> Project:
    """A project whose every task is gold (expected answers GOLD), handed out at `gold_ratio`."""
    project = project_with_tasks(count, actor=actor)
    services.quality_settings_set(
        project_id=project.pk, actor=actor, gold_ratio=gold_ratio, **quality
    )
    for task in Task.objects.filter(project=project):
        services.gold_set(task_id=task.pk, actor=actor, answers=GOLD)
    return project


def take_gold(project: Project, person: User, tries: int = 80) -> Assignment:
    """Claim until a gold task comes up: normal tasks are handed back, and when the draw picks
    no gold on a project of only gold tasks, the claim finds nothing and is tried again. With a
    gold ratio of 0.5, 80 tries all failing has a probability of 2⁻⁸⁰."""
    for _ in range(tries):
        try:
            assignment = services.assignment_next(project_id=project.pk, user=person)
        except NoTaskAvailable:
            continue
        if assignment.task.is_gold:
            return assignment
        services.assignment_release(assignment_id=assignment.pk, user=person)
    raise AssertionError(f"no gold task handed out in {tries} claims")


def answer_golds(project: Project, person: User, *, right: int, wrong: int) -> list[Submission]:
    """Submit `right` correct and then `wrong` incorrect answers to gold tasks."""
    done = []
    for answers in [right_answers()] * right + [wrong_answers()] * wrong:
        assignment = take_gold(project, person)
        done.append(
            services.submission_submit(assignment_id=assignment.pk, user=person, answers=answers)
        )
    return done
