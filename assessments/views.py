"""Pages of assessments: the list, an assessment, the attempt, the result, and grading."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from assessments import selectors, services
from assessments.errors import AttemptInProgress
from assessments.forms import answer_from_post, criteria_from_post
from assessments.models import Attempt
from assessments.questions import question_public
from common.errors import DomainError


@login_required
def assessment_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "assessments/list.html",
        {"rows": selectors.assessment_rows_for_user(user=request.user)},
    )


@login_required
def assessment_detail(request: HttpRequest, slug: str) -> HttpResponse:
    row = selectors.assessment_row_for_user(user=request.user, slug=slug)
    return render(request, "assessments/detail.html", {"row": row, "assessment": row.assessment})


@login_required
@require_POST
def assessment_start(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        attempt = services.attempt_start(user=request.user, slug=slug)
    except AttemptInProgress as error:
        messages.info(request, "You already have an attempt in progress: here it is.")
        return (
            redirect("assessments:attempt", error.attempt_id)
            if error.attempt_id
            else redirect("assessments:detail", slug)
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("assessments:detail", slug)
    return redirect("assessments:attempt", attempt.pk)


@login_required
def attempt_page(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = selectors.attempt_get_own(attempt_id=attempt_id, user=request.user)
    if attempt.status == Attempt.Status.IN_PROGRESS and timezone.now() > attempt.deadline_at:
        services.attempt_expire(attempt_id=attempt.pk, user=request.user)
        messages.info(request, "The time was up, so your saved answers were submitted.")
        return redirect("assessments:result", attempt.pk)
    if attempt.status != Attempt.Status.IN_PROGRESS:
        return redirect("assessments:result", attempt.pk)
    items = selectors.attempt_items_public(attempt=attempt)
    for item in items:
        question = item["question"]
        if question["type"] == "rating":
            item["rating_rows"] = _rating_rows(question, item["answer"] or {})
    return render(request, "assessments/attempt.html", {"attempt": attempt, "items": items})


def _rating_rows(question: dict[str, Any], answer: dict[str, Any]) -> list[dict[str, Any]]:
    scale = question["scale"]
    labels = {int(value): label for value, label in scale.get("labels", {}).items()}
    given = answer.get("ratings", {})
    return [
        {
            "id": dimension["id"],
            "label": dimension["label"],
            "options": [
                {
                    "value": value,
                    "label": labels.get(value, ""),
                    "checked": given.get(dimension["id"]) == value,
                }
                for value in range(scale["min"], scale["max"] + 1)
            ],
        }
        for dimension in question["dimensions"]
    ]


@login_required
@require_POST
def attempt_answer(request: HttpRequest, attempt_id: int, item_id: int) -> HttpResponse:
    attempt = selectors.attempt_get_own(attempt_id=attempt_id, user=request.user)
    item = attempt.items.filter(pk=item_id).first()
    error_text = ""
    saved_at = None
    if item is None:
        error_text = "That question is not part of this attempt."
    else:
        question = attempt.assessment.question(item.question_id)
        try:
            saved = services.attempt_answer(
                attempt_id=attempt.pk,
                user=request.user,
                item_id=item.pk,
                answer=answer_from_post(question, request.POST),
            )
            saved_at = saved.answered_at
        except DomainError as error:
            error_text = " ".join([error.message, *(m for ms in error.fields.values() for m in ms)])
    if request.htmx:
        return render(
            request, "assessments/_save_state.html", {"saved_at": saved_at, "error": error_text}
        )
    if error_text:
        messages.error(request, error_text)
    else:
        messages.success(request, "Saved.")
    return redirect(f"/assessments/attempts/{attempt.pk}/#item-{item_id}")


@login_required
@require_POST
def attempt_submit(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = selectors.attempt_get_own(attempt_id=attempt_id, user=request.user)
    services.attempt_submit(attempt_id=attempt.pk, user=request.user)
    messages.success(request, "Submitted. Scoring has started.")
    return redirect("assessments:result", attempt.pk)


@login_required
def attempt_result(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = selectors.attempt_get_own(attempt_id=attempt_id, user=request.user)
    if attempt.status == Attempt.Status.IN_PROGRESS:
        return redirect("assessments:attempt", attempt.pk)
    return render(
        request,
        "assessments/result.html",
        {
            "attempt": attempt,
            "progress": selectors.attempt_progress(attempt=attempt),
            "granted": selectors.attempt_qualifications_granted(attempt=attempt),
        },
    )


def _require_grading_access(request: HttpRequest) -> tuple[bool, bool]:
    is_grader = bool(services.grader_tracks(user=request.user))
    is_staff = request.user.has_perm(selectors.STAFF_PERMISSION)
    if not is_grader and not is_staff:
        raise DjangoPermissionDenied("Grading needs the reviewer role and a qualification.")
    return is_grader, is_staff


@login_required
def grading_home(request: HttpRequest) -> HttpResponse:
    is_grader, is_staff = _require_grading_access(request)
    return render(
        request,
        "assessments/grading_home.html",
        {
            "is_grader": is_grader,
            "queue": selectors.grading_queue_for_grader(grader=request.user) if is_grader else {},
            "tasks": selectors.grading_tasks_for_grader(grader=request.user)[:50]
            if is_grader
            else [],
            "backlog": selectors.grading_backlog(viewer=request.user) if is_staff else None,
        },
    )


@login_required
@require_POST
def grading_claim(request: HttpRequest) -> HttpResponse:
    try:
        task = services.grading_task_claim_next(grader=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("assessments:grading")
    if task is None:
        messages.info(request, "Nothing is waiting for you to grade right now.")
        return redirect("assessments:grading")
    return redirect("assessments:grading_task", task.pk)


@login_required
@require_http_methods(["GET", "POST"])
def grading_task(request: HttpRequest, task_id: int) -> HttpResponse:
    task = services.grading_task_get_for_grader(task_id=task_id, grader=request.user)
    question = task.attempt.assessment.question(task.item.question_id)
    rubric = services.grading_rubric(question)
    errors: dict[str, list[str]] = {}
    values = {criterion["id"]: task.criteria.get(criterion["id"], "") for criterion in rubric}
    comment = task.comment
    if request.method == "POST":
        values = criteria_from_post(rubric, request.POST)
        comment = request.POST.get("comment", "")
        try:
            services.grading_task_submit(
                task_id=task.pk, grader=request.user, criteria=values, comment=comment
            )
        except DomainError as error:
            errors = error.fields or {"": [error.message]}
        else:
            messages.success(request, "Grade saved. Thank you.")
            return redirect("assessments:grading")
    rows = [
        {
            **criterion,
            "value": values.get(criterion["id"], ""),
            "errors": errors.get(f"criteria.{criterion['id']}", []),
        }
        for criterion in rubric
    ]
    return render(
        request,
        "assessments/grading_task.html",
        {
            "task": task,
            "question": question_public(question),
            "key": {"pairwise": question.get("answer"), "code": question.get("tests")}.get(
                question["type"]
            ),
            "answer": task.item.answer or {},
            "rubric": rows,
            "comment": comment,
            "general_errors": errors.get("", []),
        },
    )
