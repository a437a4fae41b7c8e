"""HTTP API of the quality layer: rules and gold (staff), reviews (reviewers), feedback and
appeals (contributors), aggregation and the project's quality (staff)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.schema import error_responses
from common.errors import NotFound
from contributors.api.permissions import has_permission
from evaluations import quality_selectors, selectors, services
from evaluations.api.quality_serializers import (
    AggregateOutput,
    AggregatesQuery,
    AggregationRunOutput,
    AppealInput,
    AppealOutput,
    GoldInput,
    GoldOutput,
    MyQualityOutput,
    NextReviewQuery,
    ProjectQualityOutput,
    QualityActionDecideInput,
    QualityActionOutput,
    QualitySettingsInput,
    QualitySettingsOutput,
    QueueRowOutput,
    ReviewDoneOutput,
    ReviewOutput,
    SubmissionFeedbackOutput,
    VerdictInput,
)
from evaluations.api.serializers import AnswersInput
from evaluations.models import AggregateResult, AggregationRun, QualityAction

MANAGE = has_permission("marketplace.change_project")
DECIDE = has_permission("contributors.change_contributor_status")


def _settings_data(quality: Any) -> dict[str, Any]:
    return {name: getattr(quality, name) for name in QualitySettingsInput().fields}


class QualitySettingsApi(APIView):
    permission_classes = [IsAuthenticated, MANAGE]

    @extend_schema(
        operation_id="quality_settings_retrieve",
        responses={200: QualitySettingsOutput, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_for_staff(project_id=project_id, viewer=request.user)
        return Response(_settings_data(selectors.quality_settings_for(project=project)))

    @extend_schema(
        operation_id="quality_settings_set",
        request=QualitySettingsInput,
        responses={200: QualitySettingsOutput, **error_responses(400, 401, 403, 404)},
        summary="Staff: checks on submit, gold ratio and review rules of a project.",
    )
    def put(self, request: Request, project_id: int) -> Response:
        project = selectors.project_for_staff(project_id=project_id, viewer=request.user)
        payload = QualitySettingsInput(data=request.data)
        payload.is_valid(raise_exception=True)
        quality = services.quality_settings_set(
            project_id=project.pk, actor=request.user, **payload.validated_data
        )
        return Response(_settings_data(quality))


class GoldApi(APIView):
    permission_classes = [IsAuthenticated, MANAGE]

    @extend_schema(
        operation_id="gold_set",
        request=GoldInput,
        responses={200: GoldOutput, **error_responses(400, 401, 403, 404)},
        summary="Staff: make a task gold with its expected answers.",
    )
    def put(self, request: Request, task_id: int) -> Response:
        payload = GoldInput(data=request.data)
        payload.is_valid(raise_exception=True)
        gold = services.gold_set(
            task_id=task_id,
            actor=request.user,
            answers=payload.validated_data["answers"],
            tolerances=payload.validated_data.get("tolerances"),
        )
        return Response(GoldOutput(gold).data)

    @extend_schema(
        operation_id="gold_unset",
        request=None,
        responses={204: None, **error_responses(401, 403, 404)},
        summary="Staff: return a gold task to the normal queue.",
    )
    def delete(self, request: Request, task_id: int) -> Response:
        services.gold_unset(task_id=task_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectQualityApi(APIView):
    permission_classes = [IsAuthenticated, MANAGE]

    @extend_schema(
        operation_id="project_quality_retrieve",
        responses={200: ProjectQualityOutput, **error_responses(401, 403, 404)},
        summary="Staff: agreement, gold, review backlog, people at risk, model leaderboard.",
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_for_staff(project_id=project_id, viewer=request.user)
        return Response(
            ProjectQualityOutput(quality_selectors.project_quality(project=project)).data
        )


class AggregationCreateApi(APIView):
    permission_classes = [IsAuthenticated, MANAGE]

    @extend_schema(
        operation_id="aggregation_create",
        request=None,
        responses={202: AggregationRunOutput, **error_responses(401, 403, 404)},
        summary="Staff: run agreement and aggregation now (a job; asking twice gives one run).",
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_for_staff(project_id=project_id, viewer=request.user)
        run = services.aggregation_request(project_id=project.pk, actor=request.user)
        run.refresh_from_db()
        return Response(AggregationRunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class AggregationApi(APIView):
    permission_classes = [IsAuthenticated, MANAGE]

    @extend_schema(
        operation_id="aggregation_retrieve",
        responses={200: AggregationRunOutput, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, run_id: int) -> Response:
        run = AggregationRun.objects.filter(pk=run_id).first()
        if run is None:
            raise NotFound(f"Aggregation {run_id} does not exist.")
        return Response(AggregationRunOutput(run).data)


class AggregateListApi(GenericAPIView):
    permission_classes = [IsAuthenticated, MANAGE]
    serializer_class = AggregateOutput

    @extend_schema(
        operation_id="aggregates_list",
        parameters=[AggregatesQuery],
        responses={200: AggregateOutput(many=True), **error_responses(400, 401, 403, 404)},
        summary="Staff: the aggregated answers of one question by one method, per task.",
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_for_staff(project_id=project_id, viewer=request.user)
        query = AggregatesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        form_row = selectors.form_current(project=project)
        if form_row is not None:
            services.method_check(
                form=selectors.form_schema(form_row),
                question=query.validated_data["question"],
                method=query.validated_data["method"],
            )
        rows = (
            AggregateResult.objects.filter(
                project=project,
                question=query.validated_data["question"],
                method=query.validated_data["method"],
            )
            .select_related("task")
            .order_by("task_id")
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(AggregateOutput(page, many=True).data)


class ReviewQueueApi(APIView):
    @extend_schema(
        operation_id="reviews_queue",
        responses={200: QueueRowOutput(many=True), **error_responses(401)},
        summary="Reviewers: waiting reviews you may take, per project and level.",
    )
    def get(self, request: Request) -> Response:
        rows = quality_selectors.review_queue_for(user=request.user)
        return Response(QueueRowOutput(rows, many=True).data)


class ReviewNextApi(APIView):
    @extend_schema(
        operation_id="reviews_next",
        request=None,
        parameters=[NextReviewQuery],
        responses={200: ReviewOutput, **error_responses(400, 401, 403, 404)},
        summary="Reviewers: take the oldest waiting review (or the one you hold).",
    )
    def post(self, request: Request) -> Response:
        query = NextReviewQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        review = services.review_next(
            user=request.user,
            level=query.validated_data["level"],
            project_id=query.validated_data.get("project"),
        )
        return Response(_review_data(review.pk, request))


def _review_data(review_id: int, request: Request) -> Any:
    review = services.review_get_for_reviewer(review_id=review_id, user=request.user)
    return ReviewOutput(quality_selectors.review_view(review=review, viewer=request.user)).data


class ReviewApi(APIView):
    @extend_schema(
        operation_id="reviews_retrieve",
        responses={200: ReviewOutput, **error_responses(401, 404)},
    )
    def get(self, request: Request, review_id: int) -> Response:
        return Response(_review_data(review_id, request))


class ReviewClaimApi(APIView):
    @extend_schema(
        operation_id="reviews_claim",
        request=None,
        responses={200: ReviewOutput, **error_responses(401, 403, 404, 409)},
        summary="Reviewers: take this waiting review.",
    )
    def post(self, request: Request, review_id: int) -> Response:
        review = services.review_claim(review_id=review_id, user=request.user)
        return Response(_review_data(review.pk, request))


class ReviewVerdictApi(APIView):
    @extend_schema(
        operation_id="reviews_verdict",
        request=VerdictInput,
        responses={200: ReviewDoneOutput, **error_responses(400, 401, 404, 409)},
        summary="Reviewers: accept, ask for a revision, reject or escalate, with rubric scores.",
    )
    def post(self, request: Request, review_id: int) -> Response:
        payload = VerdictInput(data=request.data)
        payload.is_valid(raise_exception=True)
        review = services.review_decide(
            review_id=review_id,
            user=request.user,
            verdict=payload.validated_data["verdict"],
            scores=payload.validated_data["scores"],
            comment=payload.validated_data.get("comment", ""),
            staff_note=payload.validated_data.get("staff_note", ""),
        )
        return Response(ReviewDoneOutput(review).data)


class ReviewReleaseApi(APIView):
    @extend_schema(
        operation_id="reviews_release",
        request=None,
        responses={204: None, **error_responses(401, 404, 409)},
        summary="Reviewers: hand a review back without a verdict.",
    )
    def post(self, request: Request, review_id: int) -> Response:
        services.review_release(review_id=review_id, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _feedback(submission: Any) -> Any:
    data = quality_selectors.feedback_for(submission=submission)
    return SubmissionFeedbackOutput(
        {
            "id": submission.pk,
            "task": submission.task_id,
            "project": submission.project_id,
            "answers": submission.answers,
            **data,
        }
    ).data


class SubmissionFeedbackApi(APIView):
    @extend_schema(
        operation_id="submissions_feedback",
        responses={200: SubmissionFeedbackOutput, **error_responses(401, 404)},
        summary="Your submission with its review verdicts and comments.",
    )
    def get(self, request: Request, submission_id: int) -> Response:
        submission = quality_selectors.submission_for_owner(
            submission_id=submission_id, user=request.user
        )
        return Response(_feedback(submission))


class SubmissionResubmitApi(APIView):
    @extend_schema(
        operation_id="submissions_resubmit",
        request=AnswersInput,
        responses={200: SubmissionFeedbackOutput, **error_responses(400, 401, 404, 409)},
        summary="Send revised answers back to review after a reviewer asked for changes.",
    )
    def post(self, request: Request, submission_id: int) -> Response:
        payload = AnswersInput(data=request.data)
        payload.is_valid(raise_exception=True)
        submission = services.submission_resubmit(
            submission_id=submission_id,
            user=request.user,
            answers=payload.validated_data["answers"],
        )
        return Response(_feedback(submission))


class SubmissionAppealApi(APIView):
    @extend_schema(
        operation_id="submissions_appeal",
        request=AppealInput,
        responses={201: AppealOutput, **error_responses(400, 401, 404, 409)},
        summary="Appeal a rejection, once, with a reason; an expert decides.",
    )
    def post(self, request: Request, submission_id: int) -> Response:
        payload = AppealInput(data=request.data)
        payload.is_valid(raise_exception=True)
        appeal = services.appeal_create(
            submission_id=submission_id,
            user=request.user,
            reason=payload.validated_data["reason"],
        )
        return Response(AppealOutput(appeal).data, status=status.HTTP_201_CREATED)


class MyQualityApi(APIView):
    @extend_schema(
        operation_id="me_quality",
        responses={200: MyQualityOutput, **error_responses(401)},
        summary="Your quality per track, gold accuracy with its interval, verdicts, actions.",
    )
    def get(self, request: Request) -> Response:
        return Response(MyQualityOutput(quality_selectors.quality_of(user=request.user)).data)


class QualityActionListApi(GenericAPIView):
    permission_classes = [IsAuthenticated, DECIDE]
    serializer_class = QualityActionOutput

    @extend_schema(
        operation_id="quality_actions_list",
        parameters=[
            OpenApiParameter("status", str, enum=QualityAction.Status.values, required=False)
        ],
        responses={200: QualityActionOutput(many=True), **error_responses(401, 403)},
        summary="Staff: what the quality standings did, and revocations waiting to be confirmed.",
    )
    def get(self, request: Request) -> Response:
        actions = QualityAction.objects.all()
        wanted = request.query_params.get("status")
        if wanted in QualityAction.Status.values:
            actions = actions.filter(status=wanted)
        page = self.paginate_queryset(actions)
        return self.get_paginated_response(QualityActionOutput(page, many=True).data)


class QualityActionDecideApi(APIView):
    permission_classes = [IsAuthenticated, DECIDE]

    @extend_schema(
        operation_id="quality_actions_decide",
        request=QualityActionDecideInput,
        responses={200: QualityActionOutput, **error_responses(400, 401, 403, 404)},
        summary="Staff: confirm (revoke the qualification) or dismiss a proposed revocation.",
    )
    def post(self, request: Request, action_id: int) -> Response:
        payload = QualityActionDecideInput(data=request.data)
        payload.is_valid(raise_exception=True)
        action = services.quality_action_decide(
            action_id=action_id,
            actor=request.user,
            confirm=payload.validated_data["confirm"],
            note=payload.validated_data.get("note", ""),
        )
        return Response(QualityActionOutput(action).data)
