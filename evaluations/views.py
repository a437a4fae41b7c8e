"""Pages of evaluation work: the task workspace, and the staff page of a project's tasks."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import orjson
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from common.errors import DomainError
from evaluations import selectors, services
from evaluations.errors import NoTaskAvailable
from evaluations.forms import answers_from_post
from evaluations.models import Assignment, CodeRun, EvaluationSettings, ImportJob
from marketplace import selectors as marketplace_selectors
from marketplace import services as marketplace_services
from marketplace.errors import SessionOverlap


@login_required
@require_POST
def take_next(request: HttpRequest, project_id: int) -> HttpResponse:
    try:
        assignment = services.assignment_next(project_id=project_id, user=request.user)
    except DomainError as error:
        messages.info(request, error.message)
        return redirect("marketplace:project", project_id)
    return redirect("evaluations:workspace", assignment.pk)


def _ensure_timer(request: HttpRequest, project_id: int) -> None:
    """Work on a task runs the project's timer (marketplace time tracking)."""
    open_session = marketplace_selectors.session_open_for(user=request.user)
    if open_session is None:
        with contextlib.suppress(SessionOverlap):
            marketplace_services.session_start(user=request.user, project_id=project_id)


def _workspace_context(
    request: HttpRequest,
    assignment: Assignment,
    answers: dict[str, Any],
    errors: dict[str, list[str]],
) -> dict[str, Any]:
    form = selectors.form_schema(assignment.form)
    view = selectors.task_view(assignment=assignment)
    mode, prelabels = selectors.prelabels_shown(assignment=assignment)
    if mode == EvaluationSettings.PrelabelMode.PREFILL:
        answers = {**{q: label["value"] for q, label in prelabels.items()}, **answers}
    questions = []
    for question in form.questions:
        name = question.name
        questions.append(
            {
                "q": question,
                "answer": answers.get(name),
                "errors": [
                    m
                    for path, msgs in errors.items()
                    if path == f"answers.{name}" or path.startswith(f"answers.{name}.")
                    for m in msgs
                ],
                "prelabel": prelabels.get(name)
                if mode == EvaluationSettings.PrelabelMode.BESIDE
                else None,
                "scale": list(range(question.min, question.max + 1))
                if question.type == "rating"
                else [],
                "positions": list(range(1, len(view["responses"]) + 1)),
                "json": json.dumps(answers.get(name) or []),
            }
        )
    return {
        "assignment": assignment,
        "task": view,
        "questions": questions,
        "errors": errors,
        "open_session": marketplace_selectors.session_open_for(user=request.user),
        "runs": assignment.code_runs.all()[:5],
        "letters": {response["id"]: response["letter"] for response in view["responses"]},
        "strengths": [(1, "Slightly"), (2, "Clearly"), (3, "Much")],
    }


@login_required
def workspace(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = selectors.assignment_get_own(assignment_id=assignment_id, user=request.user)
    if assignment.status != Assignment.Status.ACTIVE:
        messages.info(request, f"That task is {assignment.get_status_display().lower()}.")
        return redirect("marketplace:project", assignment.project_id)
    _ensure_timer(request, assignment.project_id)
    return render(
        request,
        "evaluations/workspace.html",
        _workspace_context(request, assignment, assignment.draft, {}),
    )


def _answers(assignment: Assignment, data: Any) -> dict[str, Any]:
    return answers_from_post(
        form=selectors.form_schema(assignment.form),
        response_ids=assignment.response_order,
        data=data,
    )


@login_required
@require_POST
def save_draft(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = selectors.assignment_get_own(assignment_id=assignment_id, user=request.user)
    try:
        saved = services.assignment_draft_save(
            assignment_id=assignment.pk, user=request.user, draft=_answers(assignment, request.POST)
        )
    except DomainError as error:
        return render(
            request, "evaluations/_problem.html", {"error": error, "prefix": "Not saved:"}
        )
    return render(request, "evaluations/_saved.html", {"saved": saved})


@login_required
@require_POST
def submit(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = selectors.assignment_get_own(assignment_id=assignment_id, user=request.user)
    answers = _answers(assignment, request.POST)
    try:
        services.submission_submit(assignment_id=assignment.pk, user=request.user, answers=answers)
    except DomainError as error:
        if not error.fields:
            messages.error(request, error.message)
            return redirect("marketplace:project", assignment.project_id)
        context = _workspace_context(request, assignment, answers, error.fields)
        return render(
            request,
            "evaluations/workspace.html",
            {
                **context,
                "submit_error": "Some answers need attention: see the questions marked below.",
            },
            status=400,
        )
    try:
        following = services.assignment_next(project_id=assignment.project_id, user=request.user)
    except NoTaskAvailable:
        messages.success(
            request, "Submitted. That was the last task for you here for now. Thank you!"
        )
        return redirect("marketplace:project", assignment.project_id)
    except DomainError as error:
        messages.success(request, f"Submitted. {error.message}")
        return redirect("marketplace:project", assignment.project_id)
    messages.success(request, "Submitted. Here is your next task.")
    return redirect("evaluations:workspace", following.pk)


@login_required
@require_POST
def skip(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = selectors.assignment_get_own(assignment_id=assignment_id, user=request.user)
    try:
        services.assignment_skip(
            assignment_id=assignment.pk, user=request.user, reason=request.POST.get("reason", "")
        )
    except DomainError as error:
        messages.error(
            request, " ".join([error.message, *(m for ms in error.fields.values() for m in ms)])
        )
        return redirect("evaluations:workspace", assignment.pk)
    messages.info(request, "Skipped. It will go to someone else.")
    return take_next(request, assignment.project_id)


@login_required
@require_POST
def release(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = selectors.assignment_get_own(assignment_id=assignment_id, user=request.user)
    services.assignment_release(assignment_id=assignment.pk, user=request.user)
    messages.info(request, "Task given back. Come back any time.")
    return redirect("marketplace:project", assignment.project_id)


@login_required
@require_POST
def run_code(request: HttpRequest, assignment_id: int) -> HttpResponse:
    try:
        run = services.code_run_request(
            assignment_id=assignment_id,
            user=request.user,
            source=request.POST.get("source", ""),
            code=request.POST.get("code", ""),
        )
    except DomainError as error:
        return render(request, "evaluations/_problem.html", {"error": error})
    return render(request, "evaluations/_run.html", {"run": run})


@login_required
def run_status(request: HttpRequest, run_id: int) -> HttpResponse:
    run = CodeRun.objects.filter(pk=run_id, assignment__contributor=request.user).first()
    if run is None:
        return HttpResponse(status=404)
    return render(request, "evaluations/_run.html", {"run": run})


@login_required
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, project_id: int) -> HttpResponse:
    if not request.user.has_perm("marketplace.change_project"):
        raise DjangoPermissionDenied("Only staff manage a project's tasks.")
    project = selectors.project_for_staff(project_id=project_id, viewer=request.user)
    form_errors: dict[str, list[str]] = {}
    form_text = None
    if request.method == "POST" and request.POST.get("action") == "form":
        form_text = request.POST.get("schema", "")
        try:
            services.form_set(
                project_id=project.pk, actor=request.user, schema=orjson.loads(form_text)
            )
        except orjson.JSONDecodeError as error:
            form_errors = {"schema": [f"Not valid JSON: {error}"]}
        except DomainError as error:
            form_errors = error.fields or {"schema": [error.message]}
        else:
            messages.success(request, "Form saved.")
            return redirect("evaluations:manage", project.pk)
    elif request.method == "POST" and request.POST.get("action") == "import":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "Choose a file to import.")
        else:
            fmt = request.POST.get("format") or (
                "csv" if upload.name.lower().endswith(".csv") else "jsonl"
            )
            services.import_job_create(
                project_id=project.pk,
                actor=request.user,
                upload=upload,
                name=upload.name,
                fmt=fmt,
                skip_invalid=request.POST.get("skip_invalid") == "on",
            )
            messages.success(request, "Import queued. Its progress shows below.")
        return redirect("evaluations:manage", project.pk)
    current = selectors.form_current(project=project)
    if form_text is None:
        form_text = json.dumps(current.schema, indent=2) if current else ""
    jobs = ImportJob.objects.filter(project=project)[:10]
    return render(
        request,
        "evaluations/manage.html",
        {
            "project": project,
            "form": current,
            "form_text": form_text,
            "form_errors": form_errors,
            "jobs": [(job, services.import_job_progress(job)) for job in jobs],
            "settings": selectors.settings_for(project=project),
            "task_count": project.tasks.count(),
            "export_kinds": services.KINDS,
            "export_base": reverse("project-export", args=[project.pk]),
        },
    )
