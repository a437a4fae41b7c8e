"""Admin: projects (through the services), rates, sessions, manual time and the ledger; the
finance review of payouts is in the payout modules beside this one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from common.errors import DomainError
from marketplace import services
from marketplace.models import (
    EarningEntry,
    ManualTimeEntry,
    Membership,
    MultiplierRate,
    Project,
    ProjectRateChange,
    ProjectStatusChange,
    TierFloor,
    WorkSession,
)


def _codes(text: str) -> list[str]:
    return [code.strip() for code in (text or "").replace("\n", ",").split(",") if code.strip()]


class ProjectForm(forms.ModelForm):
    requires_all = forms.CharField(
        required=False,
        help_text="Qualifications all needed, comma-separated (e.g. general, programming:python).",
    )
    requires_any = forms.CharField(
        required=False, help_text="At least one of these, comma-separated."
    )
    languages = forms.CharField(
        required=False, help_text="Language codes, comma-separated (e.g. en, de)."
    )

    class Meta:
        model = Project
        fields = services.projects.FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            requirements = list(self.instance.requirements.all())
            self.fields["requires_all"].initial = ", ".join(
                r.code for r in requirements if r.mode == "all"
            )
            self.fields["requires_any"].initial = ", ".join(
                r.code for r in requirements if r.mode == "any"
            )
            self.fields["languages"].initial = ", ".join(
                lang.language for lang in self.instance.languages.all()
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        draft = Project(**{key: data.get(key) for key in services.projects.FIELDS if key in data})
        try:
            services.project_check(
                draft,
                requires_all=_codes(data.get("requires_all", "")),
                requires_any=_codes(data.get("requires_any", "")),
                languages=_codes(data.get("languages", "")),
            )
        except DomainError as error:
            for field, field_messages in (error.fields or {None: [error.message]}).items():
                for message in field_messages:
                    self.add_error(field if field in self.fields else None, message)
        return data


def _transition(to_status: str, label: str) -> Any:
    def action(modeladmin: ProjectAdmin, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        for project in queryset.order_by("pk"):
            try:
                services.project_transition(
                    project_id=project.pk, actor=request.user, to_status=to_status
                )
            except DomainError as error:
                modeladmin.message_user(request, f"{project}: {error.message}", messages.ERROR)
            else:
                modeladmin.message_user(request, f"{project}: now {to_status}.", messages.SUCCESS)

    action.__name__ = f"make_{to_status}"
    return admin.action(description=label)(action)


class StatusHistoryInline(admin.TabularInline):
    model = ProjectStatusChange
    extra = 0
    can_delete = False
    fields = readonly_fields = ("created_at", "from_status", "to_status", "actor", "reason")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RateHistoryInline(admin.TabularInline):
    model = ProjectRateChange
    extra = 0
    can_delete = False
    fields = readonly_fields = ("created_at", "old_rate", "new_rate", "currency", "actor")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    form = ProjectForm
    list_display = (
        "title",
        "tier",
        "status",
        "pay_model",
        "pay_rate",
        "currency",
        "capacity",
        "priority",
    )
    list_filter = ("status", "tier", "pay_model")
    search_fields = ("title",)
    readonly_fields = ("status",)
    inlines = (StatusHistoryInline, RateHistoryInline)
    actions = (
        _transition("active", "Activate (or resume) selected projects"),
        _transition("paused", "Pause selected projects"),
        _transition("completed", "Complete selected projects"),
        _transition("archived", "Archive selected projects"),
    )

    def save_model(
        self, request: HttpRequest, obj: Project, form: ProjectForm, change: bool
    ) -> None:
        data = {
            key: form.cleaned_data[key]
            for key in services.projects.FIELDS
            if key in form.cleaned_data
        }
        lists = {
            key: _codes(form.cleaned_data.get(key, ""))
            for key in ("requires_all", "requires_any", "languages")
        }
        if change:
            saved = services.project_update(
                project_id=obj.pk, actor=request.user, data=data, **lists
            )
        else:
            saved = services.project_create(actor=request.user, data=data, **lists)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return  # the service wrote requirements and languages; the inlines are read-only history


class AddOnlyAdmin(admin.ModelAdmin):
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TierFloor)
class TierFloorAdmin(AddOnlyAdmin):
    list_display = ("tier", "amount", "currency", "effective_from", "set_by", "reason")
    list_filter = ("tier",)
    fields = ("tier", "amount", "currency", "effective_from", "reason")

    def save_model(self, request: HttpRequest, obj: TierFloor, form: Any, change: bool) -> None:
        saved = services.tier_floor_set(
            tier=obj.tier,
            amount=obj.amount,
            currency=obj.currency,
            actor=request.user,
            reason=obj.reason,
            effective_from=obj.effective_from,
        )
        obj.pk = saved.pk


@admin.register(MultiplierRate)
class MultiplierRateAdmin(AddOnlyAdmin):
    list_display = ("standing", "multiplier", "effective_from", "set_by", "reason")
    fields = ("standing", "multiplier", "effective_from", "reason")

    def save_model(
        self, request: HttpRequest, obj: MultiplierRate, form: Any, change: bool
    ) -> None:
        saved = services.multiplier_set(
            standing=obj.standing,
            multiplier=obj.multiplier,
            actor=request.user,
            reason=obj.reason,
            effective_from=obj.effective_from,
        )
        obj.pk = saved.pk


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("project", "user", "joined_at", "left_at")
    list_filter = ("project",)
    search_fields = ("user__email", "project__title")
    list_select_related = ("project", "user")


@admin.register(WorkSession)
class WorkSessionAdmin(ReadOnlyAdmin):
    list_display = (
        "user",
        "project",
        "source",
        "started_at",
        "ended_at",
        "end_reason",
        "rate",
        "multiplier",
    )
    list_filter = ("source", "end_reason", "project")
    search_fields = ("user__email", "project__title")
    list_select_related = ("project", "user")
    date_hierarchy = "started_at"


@admin.register(ManualTimeEntry)
class ManualTimeEntryAdmin(ReadOnlyAdmin):
    list_display = ("user", "project", "started_at", "ended_at", "reason", "status", "decided_by")
    list_filter = ("status", "project")
    search_fields = ("user__email", "reason")
    list_select_related = ("project", "user", "decided_by")
    actions = ("approve_selected", "refuse_selected")

    def _decide(
        self, request: HttpRequest, queryset: QuerySet[ManualTimeEntry], approve: bool
    ) -> None:
        done = 0
        for entry in queryset.order_by("pk"):
            try:
                services.manual_entry_decide(entry_id=entry.pk, actor=request.user, approve=approve)
                done += 1
            except DomainError as error:
                self.message_user(request, f"Entry {entry.pk}: {error.message}", messages.ERROR)
        if done:
            self.message_user(
                request, f"{'Approved' if approve else 'Refused'} {done} entries.", messages.SUCCESS
            )

    @admin.action(description="Approve selected entries", permissions=["decide"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[ManualTimeEntry]) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description="Refuse selected entries", permissions=["decide"])
    def refuse_selected(self, request: HttpRequest, queryset: QuerySet[ManualTimeEntry]) -> None:
        self._decide(request, queryset, approve=False)

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("marketplace.change_manualtimeentry")


@admin.register(EarningEntry)
class EarningEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "contributor",
        "project",
        "kind",
        "amount",
        "currency",
        "state",
        "work_date",
    )
    list_filter = ("state", "kind", "currency", "project")
    search_fields = ("contributor__email", "idempotency_key", "reason")
    list_select_related = ("project", "contributor")
    date_hierarchy = "work_date"
    actions = ("approve_selected",)

    @admin.action(description="Approve selected pending entries", permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[EarningEntry]) -> None:
        count = services.earnings_approve(
            entry_ids=list(queryset.values_list("pk", flat=True)), actor=request.user
        )
        self.message_user(request, f"Approved {count} entries.", messages.SUCCESS)

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("marketplace.approve_earnings")


# The finance review of payouts: importing its modules registers their ModelAdmins.
from marketplace.admin import payout_batches, payout_periods, payouts  # noqa: E402, F401
