"""Admin: assessments (read-only: content comes from files), and attempts with their trail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from assessments.models import Assessment, Attempt, AttemptItem, GradingTask, ScoringEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyAdmin):
    list_display = (
        "title",
        "slug",
        "version",
        "kind",
        "track",
        "is_current",
        "pass_mark",
        "loaded_at",
    )
    list_filter = ("kind", "is_current", "track")
    search_fields = ("slug", "title")


class ItemInline(ReadOnlyInline):
    model = AttemptItem
    fields = (
        "position",
        "question_id",
        "qtype",
        "points",
        "status",
        "auto_points",
        "human_points",
        "score",
        "answer",
        "scoring",
    )
    readonly_fields = fields


class GradingInline(ReadOnlyInline):
    model = GradingTask
    fk_name = "attempt"
    fields = (
        "item",
        "round",
        "status",
        "grader",
        "points",
        "criteria",
        "comment",
        "claimed_at",
        "submitted_at",
    )
    readonly_fields = fields


class EventInline(ReadOnlyInline):
    model = ScoringEvent
    fields = ("created_at", "kind", "item", "actor", "detail")
    readonly_fields = fields


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "user",
        "slug",
        "number",
        "status",
        "started_at",
        "submitted_at",
        "score_percent",
        "passed",
    )
    list_filter = ("status", "slug", "passed", "submitted_by")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    inlines = (ItemInline, GradingInline, EventInline)


@admin.register(GradingTask)
class GradingTaskAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "attempt",
        "round",
        "track",
        "status",
        "grader",
        "points",
        "created_at",
        "claimed_at",
    )
    list_filter = ("status", "track", "round")
    list_select_related = ("grader", "attempt")
