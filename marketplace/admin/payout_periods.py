"""Payout settings and pay periods in the admin: the one settings row, changed through the audited
service, and the periods whose batches finance builds."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html

from common.errors import DomainError
from marketplace.admin.payout_base import (
    ViewOnlyAdmin,
    change_url,
    changelist_url,
    may_review,
    refusal,
)
from marketplace.models import PayoutAudit, PayoutBatch, PayoutSettings, PayPeriod
from marketplace.services import payouts as services
from marketplace.services.payouts.periods import SETTINGS_FIELDS


@admin.register(PayoutSettings)
class PayoutSettingsAdmin(admin.ModelAdmin):
    """One row, changed through payout_settings_update so every change is audited."""

    fields = (*SETTINGS_FIELDS, "updated_at", "updated_by", "history")
    readonly_fields = ("updated_at", "updated_by", "history")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and may_review(request)

    @admin.display(description="history")
    def history(self, settings: PayoutSettings) -> str:
        return format_html(
            '<a href="{}">Changes in the payout audit log</a>',
            changelist_url(PayoutAudit, action__exact="settings_changed"),
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)  # refuses as the admin does
        return HttpResponseRedirect(change_url(services.payout_settings()))

    def save_model(
        self, request: HttpRequest, obj: PayoutSettings, form: Any, change: bool
    ) -> None:
        changes = {
            name: form.cleaned_data[name] for name in form.changed_data if name in SETTINGS_FIELDS
        }
        if not changes:
            return
        try:
            services.payout_settings_update(actor=request.user, **changes)
        except DomainError as error:
            request.payout_settings_refused = True  # type: ignore[attr-defined]  # for response_change
            self.message_user(request, refusal(error), messages.ERROR)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if getattr(request, "payout_settings_refused", False):
            return None
        return super().log_change(request, obj, message)

    def response_change(self, request: HttpRequest, obj: PayoutSettings) -> HttpResponse:
        if getattr(request, "payout_settings_refused", False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)


@admin.register(PayPeriod)
class PayPeriodAdmin(ViewOnlyAdmin):
    list_display = ("__str__", "starts_at", "ends_at", "time_zone", "closed", "batch_link")
    actions = ("build_batch",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PayPeriod]:
        return super().get_queryset(request).select_related("batch")

    @admin.display(description="closed", boolean=True)
    def closed(self, period: PayPeriod) -> bool:
        return period.is_closed

    @admin.display(description="batch")
    def batch_link(self, period: PayPeriod) -> str:
        batch = getattr(period, "batch", None)
        if batch is None:
            return "—"
        return format_html('<a href="{}">{}</a>', change_url(batch), batch.get_state_display())

    @admin.action(description="Build the batch of the selected periods", permissions=["review"])
    def build_batch(self, request: HttpRequest, queryset: QuerySet[PayPeriod]) -> None:
        # One at a time, oldest first: a period is built only after the ones before it, so a
        # later period is refused while an earlier one is still being built in the background.
        for period in queryset.order_by("ends_at"):
            try:
                batch = services.batch_build_request(period_id=period.pk, actor=request.user)
            except DomainError as error:
                self.message_user(request, f"{period}: {refusal(error)}", messages.ERROR)
                continue
            batch.refresh_from_db()
            if batch.state != PayoutBatch.State.READY:
                self.message_user(
                    request,
                    format_html(
                        '{}: the <a href="{}">batch</a> is being built in the background; '
                        "its page shows it ready when done.",
                        period,
                        change_url(batch),
                    ),
                    messages.INFO,
                )
                continue
            totals = services.payouts_totals(batch)
            self.message_user(
                request,
                format_html(
                    '{}: <a href="{}">batch</a> ready with {} payouts, {} flagged.',
                    period,
                    change_url(batch),
                    totals["payouts"],
                    totals["flagged"],
                ),
                messages.SUCCESS,
            )
