"""HTTP API of evaluation work: forms, imports, the next task, submissions, runs, exports."""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.schema import error_responses
from common.errors import NotFound
from contributors.api.permissions import has_permission
from evaluations import selectors, services
from evaluations.api.serializers import (
    AnswersInput,
    AssignmentOutput,
    CodeRunInput,
    CodeRunOutput,
    DraftInput,
    ExportInput,
    FormInput,
    FormOutput,
    ImportInput,
    ImportJobOutput,
    PrelabelImportInput,
    PrelabelImportOutput,
    SettingsInput,
    SettingsOutput,
    SkipInput,
    SubmissionOutput,
)
from evaluations.models import Assignment, CodeRun, ImportJob

MANAGE = has_permission("marketplace.change_project")


def assignment_data(assignment: Assignment) -> dict[str, Any]:
    _mode, prelabels = selectors.prelabels_shown(assignment=assignment)
    return {
        "id": assignment.pk,
        "project": assignment.project_id,
        "status": assignment.status,
        "lease_expires_at": assignment.lease_expires_at,
        "form_version": assignment.form.version,
        "form": assignment.form.schema,
        "task": selectors.task_view(assignment=assignment),
        "prelabels": prelabels,
        "draft": assignment.draft,
    }


class ProjectFormApi(APIView):
    permission_classes = [IsAuthenticated, MANAGE]

    @extend_schema(
        operation_id="evaluation_form_retrieve",
        responses={200: FormOutput, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_for_staff(project_id=project_id, viewer=request.user)
        form = selectors.form_current(project=project)
        if form is None:
            raise NotFound("This project has no evaluation form yet.")
        return Response(FormOutput(form).data)

    @extend_schema(
        operation_id="evaluation_form_set",
        request=FormInput,
        responses={200: FormOutput, **error_responses(400, 401, 403, 404)},
        summary="Staff: set the form; once used, a change becomes a new version.",
    )
    def put(self, request: Request, project_id: int) -> Response:
        payload = FormInput(data=request.data)
        payload.is_valid(raise_exception=True)
        selectors.project_for_staff(project_id=project_id, viewer=request.user)
        form = services.form_set(
            project_id=project_id, actor=request.user, schema=payload.validated_data["schema"]
        )
        return Response(FormOutput(form).data)


class ProjectSettingsApi(APIView):
    permission_classes = [IsAuthenticated, MANAGE]

    @extend_schema(
        operation_id="evaluation_settings_retrieve",
        responses={200: SettingsOutput, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_for_staff(project_id=project_id, viewer=request.user)
        return Response(SettingsOutput(selectors.settings_for(project=project)).data)

    @extend_schema(
        operation_id="evaluation_settings_update",
        request=SettingsInput,
        responses={200: SettingsOutput, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, project_id: int) -> Response:
        payload = SettingsInput(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        selectors.project_for_staff(project_id=project_id, viewer=request.user)
        options = services.settings_set(
            project_id=project_id, actor=request.user, **payload.validated_data
        )
        return Response(SettingsOutput(options).data)


class ImportCreateApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("evaluations.add_importjob")]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="tasks_import",
        request={"multipart/form-data": ImportInput},
        responses={202: ImportJobOutput, **error_responses(400, 401, 403, 404)},
        summary="Staff: upload tasks (JSONL or CSV) for a worker to import; the job shows progress",
    )
    def post(self, request: Request, project_id: int) -> Response:
        payload = ImportInput(data=request.data)
        payload.is_valid(raise_exception=True)
        selectors.project_for_staff(project_id=project_id, viewer=request.user)
        upload = payload.validated_data["file"]
        fmt = payload.validated_data.get("format") or (
            "csv" if upload.name.lower().endswith(".csv") else "jsonl"
        )
        job = services.import_job_create(
            project_id=project_id,
            actor=request.user,
            upload=upload,
            name=upload.name,
            fmt=fmt,
            skip_invalid=payload.validated_data["skip_invalid"],
        )
        job.refresh_from_db()
        return Response(ImportJobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class ImportJobApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("evaluations.view_importjob")]

    @extend_schema(
        operation_id="tasks_import_retrieve",
        responses={200: ImportJobOutput, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = ImportJob.objects.filter(pk=job_id).first()
        if job is None:
            raise NotFound(f"Import {job_id} does not exist.")
        data = ImportJobOutput(job).data
        data.update(services.import_job_progress(job))
        return Response(data)


class ExportApi(APIView):
    permission_classes = [IsAuthenticated, MANAGE]

    @extend_schema(
        operation_id="project_export",
        parameters=[ExportInput],
        responses={
            200: OpenApiResponse(description="The export, streamed (JSONL or CSV)."),
            **error_responses(400, 401, 403, 404),
        },
        summary="Staff: download the work as training data: raw, results, preferences, rewrites.",
    )
    def get(self, request: Request, project_id: int) -> StreamingHttpResponse:
        options = ExportInput(data=request.query_params)
        options.is_valid(raise_exception=True)
        project = selectors.project_for_staff(project_id=project_id, viewer=request.user)
        kind, fmt = options.validated_data["kind"], options.validated_data["format"]
        response = StreamingHttpResponse(
            services.export_stream(project=project, kind=kind, fmt=fmt),
            content_type="application/x-ndjson" if fmt == "jsonl" else "text/csv",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="project-{project.pk}-{kind}.{fmt}"'
        )
        return response


class NextTaskApi(APIView):
    @extend_schema(
        operation_id="tasks_next",
        request=None,
        responses={200: AssignmentOutput, **error_responses(401, 403, 404, 409)},
        summary="Take the next task of a project (or get the one already taken).",
    )
    def post(self, request: Request, project_id: int) -> Response:
        assignment = services.assignment_next(project_id=project_id, user=request.user)
        return Response(AssignmentOutput(assignment_data(assignment)).data)


class AssignmentApi(APIView):
    @extend_schema(
        operation_id="assignments_retrieve",
        responses={200: AssignmentOutput, **error_responses(401, 404)},
    )
    def get(self, request: Request, assignment_id: int) -> Response:
        assignment = selectors.assignment_get_own(assignment_id=assignment_id, user=request.user)
        return Response(AssignmentOutput(assignment_data(assignment)).data)


class AssignmentDraftApi(APIView):
    @extend_schema(
        operation_id="assignments_draft",
        request=DraftInput,
        responses={204: None, **error_responses(400, 401, 404, 409)},
        summary="Autosave the answers so far (extends the lease).",
    )
    def put(self, request: Request, assignment_id: int) -> Response:
        payload = DraftInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.assignment_draft_save(
            assignment_id=assignment_id, user=request.user, draft=payload.validated_data["draft"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class AssignmentSubmitApi(APIView):
    @extend_schema(
        operation_id="assignments_submit",
        request=AnswersInput,
        responses={201: SubmissionOutput, **error_responses(400, 401, 404, 409)},
        summary="Submit the answers; a retried request makes one submission.",
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        payload = AnswersInput(data=request.data)
        payload.is_valid(raise_exception=True)
        submission = services.submission_submit(
            assignment_id=assignment_id,
            user=request.user,
            answers=payload.validated_data["answers"],
        )
        return Response(SubmissionOutput(submission).data, status=status.HTTP_201_CREATED)


class AssignmentSkipApi(APIView):
    @extend_schema(
        operation_id="assignments_skip",
        request=SkipInput,
        responses={204: None, **error_responses(400, 401, 404, 409)},
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        payload = SkipInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.assignment_skip(
            assignment_id=assignment_id, user=request.user, reason=payload.validated_data["reason"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class AssignmentReleaseApi(APIView):
    @extend_schema(
        operation_id="assignments_release",
        request=None,
        responses={204: None, **error_responses(401, 404, 409)},
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        services.assignment_release(assignment_id=assignment_id, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CodeRunCreateApi(APIView):
    @extend_schema(
        operation_id="code_runs_create",
        request=CodeRunInput,
        responses={202: CodeRunOutput, **error_responses(400, 401, 404, 409)},
        summary="Run a response's code (or your fix) against the task's tests in the sandbox.",
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        payload = CodeRunInput(data=request.data)
        payload.is_valid(raise_exception=True)
        run = services.code_run_request(
            assignment_id=assignment_id, user=request.user, **payload.validated_data
        )
        run.refresh_from_db()
        return Response(CodeRunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class CodeRunApi(APIView):
    @extend_schema(
        operation_id="code_runs_retrieve",
        responses={200: CodeRunOutput, **error_responses(401, 404)},
    )
    def get(self, request: Request, run_id: int) -> Response:
        run = CodeRun.objects.filter(pk=run_id, assignment__contributor=request.user).first()
        if run is None:
            raise NotFound(f"Run {run_id} does not exist.")
        return Response(CodeRunOutput(run).data)


class SubmissionListApi(GenericAPIView):
    serializer_class = SubmissionOutput

    @extend_schema(
        operation_id="submissions_list",
        responses={200: SubmissionOutput(many=True), **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.submissions_for(user=request.user))
        return self.get_paginated_response(SubmissionOutput(page, many=True).data)


class SubmissionUpdateApi(APIView):
    @extend_schema(
        operation_id="submissions_update",
        request=AnswersInput,
        responses={200: SubmissionOutput, **error_responses(400, 401, 404, 409)},
        summary="Change your answers until review starts.",
    )
    def patch(self, request: Request, submission_id: int) -> Response:
        payload = AnswersInput(data=request.data)
        payload.is_valid(raise_exception=True)
        submission = services.submission_update(
            submission_id=submission_id,
            user=request.user,
            answers=payload.validated_data["answers"],
        )
        return Response(SubmissionOutput(submission).data)


class PrelabelImportApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("evaluations.add_importjob")]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="prelabels_import",
        request={"multipart/form-data": PrelabelImportInput},
        responses={200: PrelabelImportOutput, **error_responses(400, 401, 403, 404)},
        summary="Staff: add AI pre-labels to tasks already imported (JSONL, all or nothing).",
    )
    def post(self, request: Request, project_id: int) -> Response:
        payload = PrelabelImportInput(data=request.data)
        payload.is_valid(raise_exception=True)
        selectors.project_for_staff(project_id=project_id, viewer=request.user)
        result = services.prelabels_import(
            project_id=project_id, handle=payload.validated_data["file"]
        )
        return Response(
            PrelabelImportOutput({"lines": result.lines, "imported": result.imported}).data
        )
