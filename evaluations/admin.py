"""Admin: import tasks by upload (run by a worker), watch imports, and look at the work."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from common.errors import DomainError
from evaluations import services
from evaluations.models import (
    Assignment,
    EvaluationForm,
    EvaluationSettings,
    ImportJob,
    Submission,
    Task,
)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ImportForm(forms.ModelForm):
    class Meta:
        model = ImportJob
        fields = ("project", "file", "format", "skip_invalid")


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Upload a JSONL or CSV file: a worker imports it; the list shows how far it got."""

    form = ImportForm
    list_display = (
        "id",
        "project",
        "status",
        "lines_read",
        "imported",
        "invalid",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "format")
    readonly_fields = (
        "status",
        "lines_read",
        "imported",
        "invalid",
        "errors",
        "started_at",
        "finished_at",
    )

    def get_fields(self, request: HttpRequest, obj: ImportJob | None = None) -> list[str]:
        if obj is None:
            return ["project", "file", "format", "skip_invalid"]
        return ["project", "format", "skip_invalid", *self.readonly_fields]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None

    def save_model(self, request: HttpRequest, obj: ImportJob, form: Any, change: bool) -> None:
        upload = form.cleaned_data["file"]
        try:
            job = services.import_job_create(
                project_id=obj.project_id,
                actor=request.user,
                upload=upload,
                name=upload.name,
                fmt=obj.format,
                skip_invalid=obj.skip_invalid,
            )
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        obj.pk = job.pk


@admin.register(EvaluationSettings)
class EvaluationSettingsAdmin(admin.ModelAdmin):
    list_display = (
        "project",
        "overlap",
        "lease_minutes",
        "daily_cap",
        "project_cap",
        "prelabel_mode",
    )


@admin.register(EvaluationForm)
class EvaluationFormAdmin(ReadOnly):
    list_display = ("project", "version", "created_by", "created_at")
    list_filter = ("project",)


@admin.register(Task)
class TaskAdmin(ReadOnly):
    list_display = (
        "id",
        "project",
        "external_id",
        "priority",
        "overlap",
        "filled",
        "completed",
        "created_at",
    )
    list_filter = ("project",)
    search_fields = ("external_id", "prompt")
    show_full_result_count = False  # millions of rows: no COUNT(*) on every page


@admin.register(Assignment)
class AssignmentAdmin(ReadOnly):
    list_display = (
        "id",
        "task",
        "contributor",
        "status",
        "leased_at",
        "lease_expires_at",
        "active_seconds",
    )
    list_filter = ("status", "project")
    search_fields = ("contributor__email",)
    list_select_related = ("contributor",)
    show_full_result_count = False


@admin.register(Submission)
class SubmissionAdmin(ReadOnly):
    list_display = ("id", "task", "contributor", "status", "active_seconds", "created_at")
    list_filter = ("status", "project")
    search_fields = ("contributor__email",)
    list_select_related = ("contributor",)
    show_full_result_count = False
