"""Admin: import tasks by upload (run by a worker), watch imports, and look at the work."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from common.errors import DomainError
from evaluations import services
from evaluations.models import (
    AggregationRun,
    Appeal,
    Assignment,
    EvaluationForm,
    EvaluationSettings,
    GoldAnswer,
    ImportJob,
    QualityAction,
    QualitySettings,
    Review,
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
        "is_gold",
        "created_at",
    )
    list_filter = ("project", "is_gold")
    search_fields = ("external_id", "prompt")
    actions = ("gold_unset",)

    @admin.action(description="Return the selected gold tasks to the normal queue")
    def gold_unset(self, request: HttpRequest, queryset: Any) -> None:
        for task in queryset.filter(is_gold=True):
            services.gold_unset(task_id=task.pk, actor=request.user)
        self.message_user(request, "Done.", messages.SUCCESS)

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
    list_display = (
        "id",
        "task",
        "contributor",
        "status",
        "is_gold",
        "gold_correct",
        "active_seconds",
        "created_at",
    )
    list_filter = ("status", "is_gold", "project")
    search_fields = ("contributor__email",)
    list_select_related = ("contributor",)
    show_full_result_count = False


class GoldForm(forms.ModelForm):
    class Meta:
        model = GoldAnswer
        fields = ("task", "answers", "tolerances")
        widgets = {"task": forms.NumberInput}


@admin.register(GoldAnswer)
class GoldAnswerAdmin(admin.ModelAdmin):
    """Mark a task gold with its expected answers; they are checked against the form."""

    form = GoldForm
    list_display = ("task", "created_by", "updated_at")
    list_select_related = ("created_by",)
    raw_id_fields = ("task",)

    def save_model(self, request: HttpRequest, obj: GoldAnswer, form: Any, change: bool) -> None:
        try:
            saved = services.gold_set(
                task_id=obj.task_id,
                actor=request.user,
                answers=obj.answers,
                tolerances=obj.tolerances,
            )
        except DomainError as error:
            self.message_user(request, f"Not saved: {error.message}", messages.ERROR)
            return
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: GoldAnswer) -> None:
        services.gold_unset(task_id=obj.task_id, actor=request.user)


@admin.register(QualitySettings)
class QualitySettingsAdmin(admin.ModelAdmin):
    list_display = ("project", "peer_review", "expert_review", "review_rate", "gold_ratio")

    def save_model(
        self, request: HttpRequest, obj: QualitySettings, form: Any, change: bool
    ) -> None:
        values = {name: form.cleaned_data[name] for name in form.changed_data if name != "project"}
        try:
            saved = services.quality_settings_set(
                project_id=obj.project_id, actor=request.user, **values
            )
        except DomainError as error:
            self.message_user(request, f"Not saved: {error.message}", messages.ERROR)
            return
        obj.pk = saved.pk


@admin.register(Review)
class ReviewAdmin(ReadOnly):
    list_display = (
        "id",
        "submission",
        "level",
        "reason",
        "status",
        "reviewer",
        "verdict",
        "overturned",
        "created_at",
        "decided_at",
    )
    list_filter = ("level", "status", "verdict", "reason", "overturned", "project")
    search_fields = ("reviewer__email", "author__email")
    list_select_related = ("reviewer",)
    show_full_result_count = False


@admin.register(Appeal)
class AppealAdmin(ReadOnly):
    list_display = ("submission", "status", "created_at", "decided_at")
    list_filter = ("status",)


@admin.register(AggregationRun)
class AggregationRunAdmin(ReadOnly):
    list_display = (
        "id",
        "project",
        "status",
        "submissions_seen",
        "tasks_updated",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "project")


@admin.register(QualityAction)
class QualityActionAdmin(ReadOnly):
    """What the standings did, with why; proposed revocations wait for a staff decision."""

    list_display = ("id", "user", "kind", "track", "status", "reason", "created_at")
    list_filter = ("kind", "status", "track")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    actions = ("confirm", "dismiss")

    def _decide(self, request: HttpRequest, queryset: Any, *, confirm: bool) -> None:
        done = 0
        for action in queryset.filter(status=QualityAction.Status.AWAITING):
            try:
                services.quality_action_decide(
                    action_id=action.pk, actor=request.user, confirm=confirm
                )
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                done += 1
        self.message_user(request, f"{done} decided.", messages.SUCCESS)

    @admin.action(description="Confirm: revoke the qualification")
    def confirm(self, request: HttpRequest, queryset: Any) -> None:
        self._decide(request, queryset, confirm=True)

    @admin.action(description="Dismiss the proposal")
    def dismiss(self, request: HttpRequest, queryset: Any) -> None:
        self._decide(request, queryset, confirm=False)
