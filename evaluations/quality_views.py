"""Pages of the quality layer: the review queue and review form (reviewers), a contributor's own
quality and a submission's feedback (revision, appeal), and a project's quality (staff)."""

from __future__ import annotations

import json
from typing import Any

import orjson
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from common.errors import DomainError
from evaluations import quality_selectors, selectors, services
from evaluations.api.quality_serializers import QualitySettingsInput
from evaluations.charts import accuracy_histogram_svg, backlog_svg, leaderboard_svg
from evaluations.forms import answers_from_post
from evaluations.models import QualitySettings, Review, Submission
from evaluations.views import _workspace_context

SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def _svg(body: bytes) -> HttpResponse:
    response = HttpResponse(body, content_type="image/svg+xml")
    response["Content-Security-Policy"] = SVG_POLICY
    return response


def _require_reviewer(request: HttpRequest) -> None:
    if not quality_selectors.is_reviewer(request.user):
        raise DjangoPermissionDenied("Only reviewers review submissions.")


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    _require_reviewer(request)
    held = Review.objects.filter(reviewer=request.user, status=Review.Status.CLAIMED).first()
    done = Review.objects.filter(reviewer=request.user, status=Review.Status.DONE).count()
    return render(
        request,
        "evaluations/review_queue.html",
        {
            "rows": quality_selectors.review_queue_for(user=request.user),
            "held": held,
            "done": done,
            "expert": quality_selectors.is_expert(request.user),
        },
    )


@login_required
@require_POST
def review_take(request: HttpRequest) -> HttpResponse:
    _require_reviewer(request)
    project = request.POST.get("project", "")
    try:
        review = services.review_next(
            user=request.user,
            level=request.POST.get("level", Review.Level.PEER),
            project_id=int(project) if project.isdigit() else None,
        )
    except DomainError as error:
        messages.info(request, error.message)
        return redirect("evaluations:reviews")
    return redirect("evaluations:review", review.pk)


def _review_context(request: HttpRequest, review: Review) -> dict[str, Any]:
    view = quality_selectors.review_view(review=review, viewer=request.user)
    letters = {response["id"]: response["letter"] for response in view["task"]["responses"]}
    form = selectors.form_schema(review.submission.form)
    return {
        "review": review,
        "view": view,
        "answers": quality_selectors.answers_in_words(
            form=form, answers=view["submission"]["answers"], letters=letters
        ),
        "holding": review.reviewer_id == request.user.pk and review.status == Review.Status.CLAIMED,
        "verdict_labels": [(v, Review.Verdict(v).label) for v in view["verdicts"]],
        "rubric": [{**item, "points": list(range(item["max"] + 1))} for item in view["rubric"]],
    }


@login_required
@require_http_methods(["GET", "POST"])
def review_page(request: HttpRequest, review_id: int) -> HttpResponse:
    _require_reviewer(request)
    review = services.review_get_for_reviewer(review_id=review_id, user=request.user)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        rubric = selectors.quality_settings_for(project=review.project_id).rubric
        scores = {}
        for item in rubric:
            raw = request.POST.get(f"score-{item['name']}", "")
            scores[item["name"]] = int(raw) if raw.isdigit() else raw
        try:
            services.review_decide(
                review_id=review.pk,
                user=request.user,
                verdict=request.POST.get("verdict", ""),
                scores=scores,
                comment=request.POST.get("comment", ""),
                staff_note=request.POST.get("staff_note", ""),
            )
        except DomainError as error:
            errors = error.fields or {"verdict": [error.message]}
        else:
            messages.success(request, "Verdict recorded. Thank you.")
            if request.POST.get("then") == "next":
                try:
                    following = services.review_next(user=request.user, level=review.level)
                except DomainError as error:
                    messages.info(request, error.message)
                else:
                    return redirect("evaluations:review", following.pk)
            return redirect("evaluations:reviews")
    context = _review_context(request, review)
    if errors:
        for item in context["rubric"]:
            raw = request.POST.get(f"score-{item['name']}", "")
            item["given"] = int(raw) if raw.isdigit() else None
    context.update({"errors": errors, "posted": request.POST if errors else {}})
    return render(request, "evaluations/review.html", context)


@login_required
@require_POST
def review_hand_back(request: HttpRequest, review_id: int) -> HttpResponse:
    _require_reviewer(request)
    try:
        services.review_release(review_id=review_id, user=request.user)
    except DomainError as error:
        messages.info(request, error.message)
    else:
        messages.info(request, "Review handed back to the queue.")
    return redirect("evaluations:reviews")


@login_required
def my_quality(request: HttpRequest) -> HttpResponse:
    submissions = Paginator(
        selectors.submissions_for(user=request.user).order_by("-created_at"), 20
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "evaluations/my_quality.html",
        {"quality": quality_selectors.quality_of(user=request.user), "submissions": submissions},
    )


@login_required
@require_http_methods(["GET", "POST"])
def submission_page(request: HttpRequest, submission_id: int) -> HttpResponse:
    submission = quality_selectors.submission_for_owner(
        submission_id=submission_id, user=request.user
    )
    errors: dict[str, list[str]] = {}
    answers = submission.answers
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "appeal":
        try:
            services.appeal_create(
                submission_id=submission.pk,
                user=request.user,
                reason=request.POST.get("reason", ""),
            )
        except DomainError as error:
            errors = error.fields or {"reason": [error.message]}
        else:
            messages.success(request, "Appeal sent. An expert reviewer will decide.")
            return redirect("evaluations:submission", submission.pk)
    elif action == "resubmit":
        answers = answers_from_post(
            form=selectors.form_schema(submission.form),
            response_ids=submission.response_order,
            data=request.POST,
        )
        try:
            services.submission_resubmit(
                submission_id=submission.pk, user=request.user, answers=answers
            )
        except DomainError as error:
            errors = error.fields or {"answers": [error.message]}
        else:
            messages.success(request, "Revision sent back to review.")
            return redirect("evaluations:submission", submission.pk)
    feedback = quality_selectors.feedback_for(submission=submission)
    assignment = submission.assignment
    context = _workspace_context(request, assignment, answers, errors)
    letters = context["letters"]
    context.update(
        {
            "submission": submission,
            "feedback": feedback,
            "answers_read": quality_selectors.answers_in_words(
                form=selectors.form_schema(submission.form),
                answers=submission.answers,
                letters=letters,
            ),
            "errors": errors,
        }
    )
    return render(request, "evaluations/submission.html", context)


def _staff_project(request: HttpRequest, project_id: int) -> Any:
    if not request.user.has_perm("marketplace.change_project"):
        raise DjangoPermissionDenied("Only staff see a project's quality.")
    return selectors.project_for_staff(project_id=project_id, viewer=request.user)


def _settings_from_post(data: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in QualitySettingsInput().fields:
        if name in ("peer_review", "expert_review"):
            values[name] = data.get(name) == "on"
        elif name == "rubric":
            values[name] = data.get("rubric", "")
        elif name in data:
            values[name] = data.get(name)
    return values


@login_required
@require_http_methods(["GET", "POST"])
def project_quality(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _staff_project(request, project_id)
    errors: dict[str, list[str]] = {}
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "settings":
        raw = _settings_from_post(request.POST)
        try:
            raw["rubric"] = orjson.loads(raw["rubric"])
        except orjson.JSONDecodeError as error:
            errors = {"rubric": [f"Not valid JSON: {error}"]}
        if not errors:
            payload = QualitySettingsInput(data=raw)
            if not payload.is_valid():
                errors = {k: [str(m) for m in v] for k, v in payload.errors.items()}
            else:
                try:
                    services.quality_settings_set(
                        project_id=project.pk, actor=request.user, **payload.validated_data
                    )
                except DomainError as error:
                    errors = error.fields or {"settings": [error.message]}
                else:
                    messages.success(request, "Quality settings saved.")
                    return redirect("evaluations:quality", project.pk)
    elif action == "aggregate":
        services.aggregation_request(project_id=project.pk, actor=request.user)
        messages.success(request, "Aggregation queued; this page shows it when it is done.")
        return redirect("evaluations:quality", project.pk)
    elif action == "decide":
        try:
            services.quality_action_decide(
                action_id=int(request.POST.get("action_id", "0") or 0),
                actor=request.user,
                confirm=request.POST.get("confirm") == "yes",
                note=request.POST.get("note", ""),
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Decision recorded.")
        return redirect("evaluations:quality", project.pk)
    quality = quality_selectors.project_quality(project=project)
    current = selectors.quality_settings_for(project=project)
    return render(
        request,
        "evaluations/project_quality.html",
        {
            "project": project,
            "quality": quality,
            "settings": current,
            "rubric_text": json.dumps(current.rubric, indent=2),
            "actions": QualitySettings.Action.choices,
            "errors": errors,
            "leaderboard": (quality["aggregation"] or {}).get("summary", {}).get("leaderboard"),
            "questions": (quality["aggregation"] or {}).get("summary", {}).get("questions", {}),
            "flagged": Submission.objects.filter(project=project).exclude(flags=[]).count(),
        },
    )


@login_required
def leaderboard_chart(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _staff_project(request, project_id)
    board = quality_selectors.latest_summary(project=project).get("leaderboard") or {}
    return _svg(leaderboard_svg(board.get("models", [])))


@login_required
def accuracy_chart(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _staff_project(request, project_id)
    rows = quality_selectors.gold_accuracy(project=project)
    return _svg(accuracy_histogram_svg([row["mean"] for row in rows]))


@login_required
def backlog_chart(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _staff_project(request, project_id)
    return _svg(backlog_svg(quality_selectors.review_backlog(project=project)["history"]))
