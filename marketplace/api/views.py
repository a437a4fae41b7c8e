"""HTTP API of the marketplace: rates, projects, the dashboard, time and the ledger."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.schema import error_responses
from common.errors import NotFound
from contributors.api.permissions import has_permission
from contributors.models import User
from contributors.services import standing_set
from marketplace import selectors, services
from marketplace.api.serializers import (
    AdjustmentInput,
    CountOutput,
    DashboardFilterInput,
    DashboardOutput,
    EarningFilterInput,
    EarningOutput,
    EarningsApproveInput,
    EarningsSummaryOutput,
    FairPayOutput,
    ManualEntryDecisionInput,
    ManualEntryInput,
    ManualEntryOutput,
    MembershipOutput,
    MultiplierInput,
    MultiplierOutput,
    ProjectInput,
    ProjectOutput,
    ProjectTransitionInput,
    ReasonInput,
    SessionOutput,
    SessionStartInput,
    StandingInput,
    TierFloorInput,
    TierFloorOutput,
)
from marketplace.models import ManualTimeEntry, MultiplierRate, Project, WorkSession

MANAGE = has_permission("marketplace.change_project")


SESSION_FIELDS = (
    "id",
    "project_id",
    "source",
    "started_at",
    "last_heartbeat_at",
    "ended_at",
    "end_reason",
    "rate",
    "multiplier",
    "currency",
)


def _session_data(session: WorkSession) -> dict[str, Any]:
    return {
        **{field: getattr(session, field) for field in SESSION_FIELDS},
        "seconds": session.seconds(),
    }


class TierListApi(APIView):
    @extend_schema(
        operation_id="tiers_list",
        responses={200: TierFloorOutput(many=True), **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        floors = selectors.tier_floors_current()
        return Response(TierFloorOutput([floors[tier] for tier in sorted(floors)], many=True).data)


class TierFloorSetApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("marketplace.add_tierfloor")]

    @extend_schema(
        operation_id="tiers_floor_set",
        request=TierFloorInput,
        responses={201: TierFloorOutput, **error_responses(400, 401, 403)},
        summary="Staff: set a tier's floor from a moment on; recorded earnings keep their rates.",
    )
    def post(self, request: Request, tier: str) -> Response:
        payload = TierFloorInput(data=request.data)
        payload.is_valid(raise_exception=True)
        floor = services.tier_floor_set(tier=tier, actor=request.user, **payload.validated_data)
        return Response(TierFloorOutput(floor).data, status=status.HTTP_201_CREATED)


class MultiplierListApi(APIView):
    @extend_schema(
        operation_id="multipliers_list",
        responses={200: MultiplierOutput(many=True), **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        rows = []
        for standing in ("standard", "strong", "exceptional"):
            rate = (
                MultiplierRate.objects.filter(standing=standing).order_by("-effective_from").first()
            )
            if rate is not None:
                rows.append(rate)
        return Response(MultiplierOutput(rows, many=True).data)


class MultiplierSetApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("marketplace.add_multiplierrate")]

    @extend_schema(
        operation_id="multipliers_set",
        request=MultiplierInput,
        responses={201: MultiplierOutput, **error_responses(400, 401, 403)},
    )
    def post(self, request: Request, standing: str) -> Response:
        payload = MultiplierInput(data=request.data)
        payload.is_valid(raise_exception=True)
        rate = services.multiplier_set(
            standing=standing, actor=request.user, **payload.validated_data
        )
        return Response(MultiplierOutput(rate).data, status=status.HTTP_201_CREATED)


class StandingSetApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("contributors.change_contributor_status")]

    @extend_schema(
        operation_id="contributors_standing_set",
        request=StandingInput,
        responses={204: None, **error_responses(400, 401, 403, 404)},
        summary="Staff: set a contributor's quality standing (it selects their pay multiplier).",
    )
    def post(self, request: Request, user_id: int) -> Response:
        payload = StandingInput(data=request.data)
        payload.is_valid(raise_exception=True)
        user = User.objects.filter(pk=user_id, profile__isnull=False).first()
        if user is None:
            raise NotFound(f"Contributor {user_id} does not exist.")
        standing_set(user=user, set_by=request.user, **payload.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _project_args(data: dict[str, Any]) -> dict[str, Any]:
    lists = {
        key: data.pop(key) for key in ("requires_all", "requires_any", "languages") if key in data
    }
    return {"data": data, **lists}


class ProjectListApi(GenericAPIView):
    permission_classes = [IsAuthenticated, MANAGE]
    serializer_class = ProjectOutput

    @extend_schema(
        operation_id="projects_list",
        responses={200: ProjectOutput(many=True), **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        projects = selectors.project_list_for_staff(
            viewer=request.user, status=request.query_params.get("status")
        )
        page = self.paginate_queryset(projects.order_by("-created_at", "-id"))
        return self.get_paginated_response(ProjectOutput(page, many=True).data)

    @extend_schema(
        operation_id="projects_create",
        request=ProjectInput,
        responses={201: ProjectOutput, **error_responses(400, 401, 403)},
        summary="Staff: create a project (as a draft); its rate may not be below the tier floor.",
    )
    def post(self, request: Request) -> Response:
        payload = ProjectInput(data=request.data)
        payload.is_valid(raise_exception=True)
        project = services.project_create(
            actor=request.user, **_project_args(dict(payload.validated_data))
        )
        project = selectors.project_get_for_viewer(project_id=project.pk, viewer=request.user)
        return Response(ProjectOutput(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    @extend_schema(
        operation_id="projects_retrieve",
        responses={200: ProjectOutput, **error_responses(401, 404)},
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get_for_viewer(project_id=project_id, viewer=request.user)
        return Response(ProjectOutput(project).data)

    @extend_schema(
        operation_id="projects_update",
        request=ProjectInput(partial=True),
        responses={200: ProjectOutput, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, project_id: int) -> Response:
        # Someone who may see the project but not manage it is refused (403) by the service;
        # someone who may not even see it gets 404 here.
        selectors.project_get_for_viewer(project_id=project_id, viewer=request.user)
        payload = ProjectInput(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        services.project_update(
            project_id=project_id, actor=request.user, **_project_args(dict(payload.validated_data))
        )
        return Response(
            ProjectOutput(
                selectors.project_get_for_viewer(project_id=project_id, viewer=request.user)
            ).data
        )


class ProjectTransitionApi(APIView):
    permission_classes = [IsAuthenticated, MANAGE]

    @extend_schema(
        operation_id="projects_transition",
        request=ProjectTransitionInput,
        responses={200: ProjectOutput, **error_responses(400, 401, 403, 404, 409)},
        summary="Staff: draft → active ⇄ paused → completed → archived.",
    )
    def post(self, request: Request, project_id: int) -> Response:
        payload = ProjectTransitionInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.project_transition(
            project_id=project_id,
            actor=request.user,
            to_status=payload.validated_data["status"],
            reason=payload.validated_data["reason"],
        )
        return Response(
            ProjectOutput(
                selectors.project_get_for_viewer(project_id=project_id, viewer=request.user)
            ).data
        )


class DashboardApi(APIView):
    @extend_schema(
        operation_id="dashboard_list",
        parameters=[DashboardFilterInput],
        responses={200: DashboardOutput, **error_responses(400, 401)},
        summary="The caller's dashboard: open projects, or locked ones with what unlocks them.",
    )
    def get(self, request: Request) -> Response:
        filters = DashboardFilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        options = dict(filters.validated_data)
        eligibility = options.pop("eligibility")
        board = selectors.dashboard_for(user=request.user, **options)
        cards, count = (
            (board.available, board.available_count)
            if eligibility == "open"
            else (board.locked, board.locked_count)
        )
        return Response(
            DashboardOutput(
                {
                    "count": count,
                    "standing": board.standing,
                    "multiplier": board.multiplier,
                    "results": cards,
                }
            ).data
        )


class ProjectJoinApi(APIView):
    @extend_schema(
        operation_id="projects_join",
        request=None,
        responses={200: MembershipOutput, **error_responses(401, 403, 404, 409)},
        summary="Join a project; refused with the reason when full or not qualified.",
    )
    def post(self, request: Request, project_id: int) -> Response:
        selectors.project_get_for_viewer(project_id=project_id, viewer=request.user)
        membership = services.membership_join(project_id=project_id, user=request.user)
        return Response(MembershipOutput(membership).data)


class ProjectLeaveApi(APIView):
    @extend_schema(
        operation_id="projects_leave",
        request=None,
        responses={204: None, **error_responses(401, 404)},
    )
    def post(self, request: Request, project_id: int) -> Response:
        selectors.project_get_for_viewer(project_id=project_id, viewer=request.user)
        services.membership_leave(project_id=project_id, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionListApi(GenericAPIView):
    serializer_class = SessionOutput

    @extend_schema(
        operation_id="sessions_list",
        responses={200: SessionOutput(many=True), **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.sessions_for(user=request.user))
        return self.get_paginated_response([SessionOutput(_session_data(s)).data for s in page])

    @extend_schema(
        operation_id="sessions_start",
        request=SessionStartInput,
        responses={201: SessionOutput, **error_responses(400, 401, 403, 404, 409)},
        summary="Start the clock on a project you joined; one running session at a time.",
    )
    def post(self, request: Request) -> Response:
        payload = SessionStartInput(data=request.data)
        payload.is_valid(raise_exception=True)
        selectors.project_get_for_viewer(
            project_id=payload.validated_data["project"], viewer=request.user
        )
        session = services.session_start(
            user=request.user, project_id=payload.validated_data["project"]
        )
        return Response(SessionOutput(_session_data(session)).data, status=status.HTTP_201_CREATED)


class SessionHeartbeatApi(APIView):
    @extend_schema(
        operation_id="sessions_heartbeat",
        request=None,
        responses={200: SessionOutput, **error_responses(401, 404, 409)},
        summary="Say the person is still working (the page does this once a minute).",
    )
    def post(self, request: Request, session_id: int) -> Response:
        session = services.session_heartbeat(session_id=session_id, user=request.user)
        return Response(SessionOutput(_session_data(session)).data)


class SessionStopApi(APIView):
    @extend_schema(
        operation_id="sessions_stop",
        request=None,
        responses={200: SessionOutput, **error_responses(401, 404)},
    )
    def post(self, request: Request, session_id: int) -> Response:
        session = services.session_stop(session_id=session_id, user=request.user)
        return Response(SessionOutput(_session_data(session)).data)


class ManualEntryListApi(GenericAPIView):
    serializer_class = ManualEntryOutput

    @extend_schema(
        operation_id="time_entries_list",
        responses={200: ManualEntryOutput(many=True), **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        entries = ManualTimeEntry.objects.filter(user=request.user)
        if (
            request.user.has_perm("marketplace.change_manualtimeentry")
            and request.query_params.get("all") == "1"
        ):
            entries = ManualTimeEntry.objects.all()
        page = self.paginate_queryset(entries.order_by("-created_at", "-id"))
        return self.get_paginated_response(ManualEntryOutput(page, many=True).data)

    @extend_schema(
        operation_id="time_entries_create",
        request=ManualEntryInput,
        responses={201: ManualEntryOutput, **error_responses(400, 401, 403, 409)},
        summary="Ask for untracked time to count: a reason is needed, and staff approve it.",
    )
    def post(self, request: Request) -> Response:
        payload = ManualEntryInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        entry = services.manual_entry_create(
            user=request.user, project_id=data.pop("project"), **data
        )
        return Response(ManualEntryOutput(entry).data, status=status.HTTP_201_CREATED)


class ManualEntryDecisionApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("marketplace.change_manualtimeentry")]

    @extend_schema(
        operation_id="time_entries_decide",
        request=ManualEntryDecisionInput,
        responses={200: ManualEntryOutput, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, entry_id: int) -> Response:
        payload = ManualEntryDecisionInput(data=request.data)
        payload.is_valid(raise_exception=True)
        entry = services.manual_entry_decide(
            entry_id=entry_id, actor=request.user, **payload.validated_data
        )
        return Response(ManualEntryOutput(entry).data)


class EarningListApi(GenericAPIView):
    serializer_class = EarningOutput

    @extend_schema(
        operation_id="earnings_list",
        parameters=[EarningFilterInput],
        responses={200: EarningOutput(many=True), **error_responses(400, 401)},
        summary="The caller's own ledger entries, newest first.",
    )
    def get(self, request: Request) -> Response:
        filters = EarningFilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        entries = selectors.earnings_for(user=request.user)
        if "state" in filters.validated_data:
            entries = entries.filter(state=filters.validated_data["state"])
        if "project" in filters.validated_data:
            entries = entries.filter(project_id=filters.validated_data["project"])
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(EarningOutput(page, many=True).data)


class EarningSummaryApi(APIView):
    @extend_schema(
        operation_id="earnings_summary",
        responses={200: EarningsSummaryOutput, **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        return Response(EarningsSummaryOutput(selectors.earnings_summary(user=request.user)).data)


class EarningApproveApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("marketplace.approve_earnings")]

    @extend_schema(
        operation_id="earnings_approve",
        request=EarningsApproveInput,
        responses={200: CountOutput, **error_responses(400, 401, 403)},
        summary="Staff: approve pending entries in bulk (never one's own).",
    )
    def post(self, request: Request) -> Response:
        payload = EarningsApproveInput(data=request.data)
        payload.is_valid(raise_exception=True)
        count = services.earnings_approve(
            entry_ids=payload.validated_data["entries"], actor=request.user
        )
        return Response(CountOutput({"count": count}).data)


class EarningReverseApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("marketplace.adjust_earnings")]

    @extend_schema(
        operation_id="earnings_reverse",
        request=ReasonInput,
        responses={201: EarningOutput, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, entry_id: int) -> Response:
        payload = ReasonInput(data=request.data)
        payload.is_valid(raise_exception=True)
        reversal = services.earning_reverse(
            entry_id=entry_id, actor=request.user, **payload.validated_data
        )
        return Response(EarningOutput(reversal).data, status=status.HTTP_201_CREATED)


class EarningAdjustApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("marketplace.adjust_earnings")]

    @extend_schema(
        operation_id="earnings_adjust",
        request=AdjustmentInput,
        responses={201: EarningOutput, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request: Request) -> Response:
        payload = AdjustmentInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        contributor = User.objects.filter(pk=data.pop("contributor")).first()
        project_id = data.pop("project", None)
        project = Project.objects.filter(pk=project_id).first() if project_id else None
        if contributor is None or (project_id and project is None):
            raise NotFound("No such contributor or project.")
        entry = services.earning_adjust(
            contributor=contributor, project=project, actor=request.user, **data
        )
        return Response(EarningOutput(entry).data, status=status.HTTP_201_CREATED)


class FairPayApi(APIView):
    permission_classes = [IsAuthenticated, MANAGE]

    @extend_schema(
        operation_id="fair_pay_list",
        responses={200: FairPayOutput(many=True), **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        return Response(
            FairPayOutput(services.fair_pay_report(viewer=request.user), many=True).data
        )


class FairPayTopUpApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("marketplace.adjust_earnings")]

    @extend_schema(
        operation_id="fair_pay_top_up",
        request=ReasonInput,
        responses={200: EarningOutput(many=True), **error_responses(400, 401, 403, 404)},
        summary="Staff: top up every contributor of a per-task project paid under the floor.",
    )
    def post(self, request: Request, project_id: int) -> Response:
        payload = ReasonInput(data=request.data)
        payload.is_valid(raise_exception=True)
        created = services.fair_pay_top_up(
            project_id=project_id, actor=request.user, **payload.validated_data
        )
        return Response(EarningOutput(created, many=True).data)
