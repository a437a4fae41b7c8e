"""HTTP API of assessments, attempts and grading."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assessments import selectors, services
from assessments.api.serializers import (
    AnswerInput,
    AnswerOutput,
    AssessmentOutput,
    AttemptOutput,
    AttemptStartInput,
    AttemptSummaryOutput,
    BacklogRowOutput,
    GradingSubmitInput,
    GradingTaskOutput,
    TrailEventOutput,
)
from assessments.models import Attempt, GradingTask
from assessments.questions import question_public
from common.api.schema import error_responses
from contributors.api.permissions import has_permission

ATTEMPT_FIELDS = (
    "id",
    "slug",
    "assessment",
    "number",
    "status",
    "started_at",
    "deadline_at",
    "submitted_at",
    "submitted_by",
    "score_percent",
    "passed",
    "decided_at",
    "max_points",
    "score_points",
    "breakdown",
)


def attempt_data(attempt: Attempt) -> dict[str, Any]:
    in_progress = attempt.status == Attempt.Status.IN_PROGRESS
    return {
        **{field: getattr(attempt, field) for field in ATTEMPT_FIELDS},
        "granted": selectors.attempt_qualifications_granted(attempt=attempt),
        "items": selectors.attempt_items_public(attempt=attempt) if in_progress else [],
    }


def grading_task_data(task: GradingTask) -> dict[str, Any]:
    question = task.attempt.assessment.question(task.item.question_id)
    return {
        "id": task.pk,
        "round": task.round,
        "status": task.status,
        "track": task.track,
        "assessment": task.attempt.assessment.title,
        "question": question_public(question),
        "answer": task.item.answer or {},
        "rubric": services.grading_rubric(question),
        "points": task.points,
        "criteria": task.criteria,
        "comment": task.comment,
        "claimed_at": task.claimed_at,
        "submitted_at": task.submitted_at,
    }


class AssessmentListApi(APIView):
    @extend_schema(
        operation_id="assessments_list",
        responses={200: AssessmentOutput(many=True), **error_responses(401)},
        summary="Current assessments, what each unlocks, and whether the caller may take it.",
    )
    def get(self, request: Request) -> Response:
        rows = selectors.assessment_rows_for_user(user=request.user)
        return Response(AssessmentOutput(rows, many=True).data)


class AssessmentDetailApi(APIView):
    @extend_schema(
        operation_id="assessments_retrieve",
        responses={200: AssessmentOutput, **error_responses(401, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        row = selectors.assessment_row_for_user(user=request.user, slug=slug)
        return Response(AssessmentOutput(row).data)


class AttemptListApi(GenericAPIView):
    serializer_class = AttemptSummaryOutput

    @extend_schema(
        operation_id="attempts_list",
        responses={200: AttemptSummaryOutput(many=True), **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.attempt_list_own(user=request.user))
        return self.get_paginated_response(AttemptSummaryOutput(page, many=True).data)

    @extend_schema(
        operation_id="attempts_create",
        request=AttemptStartInput,
        responses={201: AttemptOutput, **error_responses(400, 401, 403, 404, 409)},
        summary="Start an attempt: its questions and deadline are fixed now.",
    )
    def post(self, request: Request) -> Response:
        payload = AttemptStartInput(data=request.data)
        payload.is_valid(raise_exception=True)
        attempt = services.attempt_start(
            user=request.user, slug=payload.validated_data["assessment"]
        )
        attempt = selectors.attempt_get_own(attempt_id=attempt.pk, user=request.user)
        return Response(AttemptOutput(attempt_data(attempt)).data, status=status.HTTP_201_CREATED)


class AttemptDetailApi(APIView):
    @extend_schema(
        operation_id="attempts_retrieve",
        responses={200: AttemptOutput, **error_responses(401, 404)},
    )
    def get(self, request: Request, attempt_id: int) -> Response:
        attempt = selectors.attempt_get_own(attempt_id=attempt_id, user=request.user)
        return Response(AttemptOutput(attempt_data(attempt)).data)


class AttemptAnswerApi(APIView):
    @extend_schema(
        operation_id="attempts_answer",
        request=AnswerInput,
        responses={200: AnswerOutput, **error_responses(400, 401, 404, 409)},
        summary="Save the answer to one question (autosave; partial answers are fine).",
    )
    def put(self, request: Request, attempt_id: int, item_id: int) -> Response:
        payload = AnswerInput(data=request.data)
        payload.is_valid(raise_exception=True)
        item = services.attempt_answer(
            attempt_id=attempt_id,
            user=request.user,
            item_id=item_id,
            answer=payload.validated_data["answer"],
        )
        return Response(AnswerOutput(item).data)


class AttemptSubmitApi(APIView):
    @extend_schema(
        operation_id="attempts_submit",
        request=None,
        responses={200: AttemptOutput, **error_responses(401, 404)},
        summary="Submit the attempt for scoring; submitting again changes nothing.",
    )
    def post(self, request: Request, attempt_id: int) -> Response:
        services.attempt_submit(attempt_id=attempt_id, user=request.user)
        attempt = selectors.attempt_get_own(attempt_id=attempt_id, user=request.user)
        return Response(AttemptOutput(attempt_data(attempt)).data)


class AttemptTrailApi(GenericAPIView):
    serializer_class = TrailEventOutput

    @extend_schema(
        operation_id="attempts_trail",
        responses={200: TrailEventOutput(many=True), **error_responses(401, 404)},
        summary="Staff: the full scoring trail of any attempt.",
    )
    def get(self, request: Request, attempt_id: int) -> Response:
        attempt = selectors.attempt_get_for_staff(attempt_id=attempt_id, viewer=request.user)
        page = self.paginate_queryset(selectors.attempt_trail(attempt=attempt))
        return self.get_paginated_response(TrailEventOutput(page, many=True).data)


class GradingTaskListApi(GenericAPIView):
    serializer_class = GradingTaskOutput

    @extend_schema(
        operation_id="grading_tasks_list",
        responses={200: GradingTaskOutput(many=True), **error_responses(401)},
        summary="The caller's grading tasks, newest first.",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.grading_tasks_for_grader(grader=request.user))
        return self.get_paginated_response(
            [GradingTaskOutput(grading_task_data(t)).data for t in page]
        )


class GradingTaskClaimApi(APIView):
    @extend_schema(
        operation_id="grading_tasks_claim",
        request=None,
        responses={200: GradingTaskOutput, 204: None, **error_responses(401, 403)},
        summary="Claim the next answer to grade, or the one already held; 204 when none waits.",
    )
    def post(self, request: Request) -> Response:
        task = services.grading_task_claim_next(grader=request.user)
        if task is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        task = services.grading_task_get_for_grader(task_id=task.pk, grader=request.user)
        return Response(GradingTaskOutput(grading_task_data(task)).data)


class GradingTaskDetailApi(APIView):
    @extend_schema(
        operation_id="grading_tasks_retrieve",
        responses={200: GradingTaskOutput, **error_responses(401, 404)},
    )
    def get(self, request: Request, task_id: int) -> Response:
        task = services.grading_task_get_for_grader(task_id=task_id, grader=request.user)
        return Response(GradingTaskOutput(grading_task_data(task)).data)


class GradingTaskSubmitApi(APIView):
    @extend_schema(
        operation_id="grading_tasks_submit",
        request=GradingSubmitInput,
        responses={200: GradingTaskOutput, **error_responses(400, 401, 404, 409)},
        summary="Grade the answer against the rubric, criterion by criterion.",
    )
    def post(self, request: Request, task_id: int) -> Response:
        payload = GradingSubmitInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.grading_task_submit(task_id=task_id, grader=request.user, **payload.validated_data)
        task = services.grading_task_get_for_grader(task_id=task_id, grader=request.user)
        return Response(GradingTaskOutput(grading_task_data(task)).data)


class GradingBacklogApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("assessments.view_attempt")]

    @extend_schema(
        operation_id="grading_backlog",
        responses={200: BacklogRowOutput(many=True), **error_responses(401, 403)},
        summary="Staff: attempts waiting for a decision, oldest first, against the 72-hour target.",
    )
    def get(self, request: Request) -> Response:
        return Response(
            BacklogRowOutput(selectors.grading_backlog(viewer=request.user), many=True).data
        )
