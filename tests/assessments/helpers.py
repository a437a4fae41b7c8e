"""Test helpers for assessments: load test content, and answers built from the keys."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from assessments.models import Assessment, Attempt, AttemptItem
from assessments.services import assessment_content_load, attempt_answer, attempt_start
from contributors.models import ContributorProfile, Qualification, User
from tests.contributors.factories import UserFactory

CONTENT = Path(__file__).parent / "content"
TINY = [CONTENT / "tiny-starter.yaml", CONTENT / "tiny-code.yaml"]
GOOD_SUM_EVEN = "def sum_even(numbers):\n    return sum(n for n in numbers if n % 2 == 0)\n"


def load_tiny() -> None:
    assessment_content_load(paths=TINY)


def right_answer(question: dict[str, Any]) -> dict[str, Any]:
    """The answer that earns full automatic credit (and a written part for human ones)."""
    qtype = question["type"]
    if qtype == "single_choice":
        return {"choice": question["answer"]}
    if qtype == "multiple_choice":
        return {"choices": list(question["answer"])}
    if qtype == "numeric":
        return {"value": str(question["answer"])}
    if qtype == "short_text":
        return {"text": question["accept"][0] if question.get("accept") else "1989"}
    if qtype == "rating":
        return {"ratings": {d["id"]: d["answer"] for d in question["dimensions"]}}
    if qtype == "pairwise":
        return {"choice": question["answer"], "justification": "A careful, specific justification."}
    if qtype == "long_form":
        return {"text": "A careful rewrite that covers every point of the rubric in plain words."}
    if qtype == "code":
        return {"code": GOOD_SUM_EVEN}
    raise ValueError(qtype)


def answer_all(
    attempt: Attempt, user: User, *, answers: dict[str, dict[str, Any]] | None = None
) -> None:
    for item in attempt.items.all():
        question = attempt.assessment.question(item.question_id)
        answer = (answers or {}).get(item.question_id, right_answer(question))
        attempt_answer(attempt_id=attempt.pk, user=user, item_id=item.pk, answer=answer)


def make_grader(*tracks: str) -> User:
    grader = UserFactory(roles=("contributor", "reviewer"))
    for track in tracks or ("general",):
        Qualification.objects.create(user=grader, code=track, source="test")
    return grader


def code_item_awaiting_sandbox(user: User, code: str) -> AttemptItem:
    """A submitted tiny-code attempt whose code item waits for the sandbox (starter passed)."""
    Attempt.objects.create(
        assessment=Assessment.objects.get(slug="starter", is_current=True),
        slug="starter",
        is_starter=True,
        user=user,
        number=1,
        status="decided",
        started_at=timezone.now() - timedelta(hours=1),
        deadline_at=timezone.now(),
        submitted_at=timezone.now(),
        decided_at=timezone.now(),
        passed=True,
        score_percent=100,
        max_points=1,
    )
    ContributorProfile.objects.filter(user=user).update(status="active")
    attempt = attempt_start(user=user, slug="tiny-code")
    item = attempt.items.get(question_id="q-code")
    attempt_answer(attempt_id=attempt.pk, user=user, item_id=item.pk, answer={"code": code})
    Attempt.objects.filter(pk=attempt.pk).update(status="submitted", submitted_at=timezone.now())
    AttemptItem.objects.filter(pk=item.pk).update(status="awaiting_sandbox")
    return AttemptItem.objects.get(pk=item.pk)
