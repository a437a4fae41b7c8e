"""Payouts in the admin: the list with its filters by batch, state and flag; a payout's page with
its flags and their evidence, the entries it pays, its audit trail and the decisions open to the
reviewer; and the payout audit log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from contributors.models import User
from marketplace.admin.payout_base import (
    ViewOnlyAdmin,
    change_url,
    changelist_url,
    evidence_html,
    may_review,
    payout_name,
)
from marketplace.admin.payout_views import PayoutDecisionsMixin
from marketplace.models import Payout, PayoutAudit, PayoutBatch, PayoutFlag, PayoutItem, Project

DECIDABLE = (Payout.State.REVIEW, Payout.State.AWAITING_SECOND, Payout.State.APPROVED)


def _flag_evidence(flag: PayoutFlag) -> dict[str, Any]:
    """The evidence with its ids made readable: people by e-mail, projects by title, a held
    payout as a link."""
    evidence = dict(flag.evidence)
    if isinstance(evidence.get("other_accounts"), list):
        emails = dict(
            User.objects.filter(pk__in=evidence["other_accounts"]).values_list("pk", "email")
        )
        evidence["other_accounts"] = [emails.get(pk, pk) for pk in evidence["other_accounts"]]
    if isinstance(evidence.get("held_payout"), int):
        evidence["held_payout"] = format_html(
            '<a href="{}">payout {}</a>',
            reverse("admin:marketplace_payout_change", args=[evidence["held_payout"]]),
            evidence["held_payout"],
        )
    if isinstance(evidence.get("projects"), list):
        ids = [row.get("project_id") for row in evidence["projects"] if isinstance(row, dict)]
        titles = dict(Project.objects.filter(pk__in=ids).values_list("pk", "title"))
        evidence["projects"] = [
            {**row, "project_id": titles.get(row.get("project_id"), row.get("project_id"))}
            if isinstance(row, dict)
            else row
            for row in evidence["projects"]
        ]
    return evidence


def _approvals(payout: Payout) -> str:
    if payout.state in (Payout.State.HELD, Payout.State.REJECTED):
        return "—"
    given = (payout.first_approved_by_id is not None) + (payout.approved_by_id is not None)
    return f"{given} of {2 if payout.needs_two else 1}"


class FlagCodeFilter(admin.SimpleListFilter):
    title = "flag"
    parameter_name = "flag"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(PayoutFlag.Code.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Payout]) -> QuerySet[Payout]:
        if self.value():
            return queryset.filter(flags__code=self.value())
        return queryset


class BatchFilter(admin.RelatedFieldListFilter):
    """The latest batches, newest first, named by their period (older ones are reached from
    their batch page, whose links carry the same filter)."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        batches = PayoutBatch.objects.select_related("period").order_by("-cutoff")[:12]
        return [(batch.pk, str(batch.period)) for batch in batches]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PayoutItemInline(ReadOnlyInline):
    model = PayoutItem
    verbose_name = "entry it pays"
    verbose_name_plural = "entries it pays"
    fields = readonly_fields = (
        "entry_link",
        "work_date",
        "project",
        "what",
        "amount",
        "entry_state",
        "released_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[PayoutItem]:
        return (
            super()
            .get_queryset(request)
            .select_related("entry__project")
            .order_by("entry__work_date", "entry_id")
        )

    @admin.display(description="entry")
    def entry_link(self, item: PayoutItem) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:marketplace_earningentry_change", args=[item.entry_id]),
            item.entry_id,
        )

    @admin.display(description="work date")
    def work_date(self, item: PayoutItem) -> Any:
        return item.entry.work_date

    @admin.display(description="project")
    def project(self, item: PayoutItem) -> str:
        return item.entry.project.title if item.entry.project else "—"

    @admin.display(description="what")
    def what(self, item: PayoutItem) -> str:
        entry = item.entry
        text = entry.get_kind_display()
        if entry.hours:
            text += f": {entry.hours:.2f} h"
            if entry.rate is not None:
                text += f" × {entry.rate} × {entry.multiplier or 1}"
        if entry.reason:
            text += f" — {entry.reason}"
        return text

    @admin.display(description="amount")
    def amount(self, item: PayoutItem) -> str:
        return f"{item.entry.amount} {item.entry.currency}"

    @admin.display(description="entry state")
    def entry_state(self, item: PayoutItem) -> str:
        return item.entry.get_state_display()


class PayoutAuditInline(ReadOnlyInline):
    model = PayoutAudit
    fk_name = "payout"
    verbose_name = "audit entry"
    verbose_name_plural = "audit trail"
    fields = readonly_fields = ("at", "actor", "action", "reason", "details")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PayoutAudit]:
        return super().get_queryset(request).select_related("actor").order_by("at", "id")

    @admin.display(description="details")
    def details(self, audit: PayoutAudit) -> str:
        return evidence_html(audit.data) if audit.data else "—"


@admin.register(Payout)
class PayoutAdmin(PayoutDecisionsMixin, ViewOnlyAdmin):
    list_display = (
        "contributor_display",
        "amount_display",
        "state",
        "flag_codes",
        "approvals",
        "period",
    )
    list_display_links = ("contributor_display",)
    list_filter = (("batch", BatchFilter), "state", "flagged", FlagCodeFilter, "currency")
    search_fields = ("contributor__email",)
    ordering = ("-batch__cutoff", "-flagged", "-amount", "pk")
    inlines = (PayoutItemInline, PayoutAuditInline)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "contributor",
                    "batch",
                    ("amount", "currency"),
                    "entries_count",
                    "payout_email",
                    "state",
                    ("flagged", "needs_two"),
                )
            },
        ),
        (
            "Decisions",
            {
                "fields": (
                    ("first_approved_by", "first_approved_at"),
                    ("approved_by", "approved_at"),
                    ("decided_by", "decided_at"),
                    "reason",
                )
            },
        ),
        (
            "Paying",
            {
                "fields": (
                    "dispatch",
                    "provider_reference",
                    "sent_at",
                    ("paid_at", "paid_by"),
                    "attempts",
                    "last_error",
                )
            },
        ),
    )
    actions = (
        "approve_selected",
        "approve_unflagged",
        "hold_selected",
        "reject_selected",
        "send_approved",
        "mark_paid",
    )
    change_form_template = "admin/marketplace/payouts/payout_change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Payout]:
        return (
            super()
            .get_queryset(request)
            .select_related("contributor", "batch__period", "first_approved_by")
            .prefetch_related("flags")
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        title = {"title": "Payouts: open one to read its flags and decide"}
        return super().changelist_view(request, {**title, **(extra_context or {})})

    @admin.display(description="contributor", ordering="contributor__email")
    def contributor_display(self, payout: Payout) -> str:
        return f"{payout.contributor.full_name} <{payout.contributor.email}>"

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, payout: Payout) -> str:
        return f"{payout.amount} {payout.currency}"

    @admin.display(description="approvals (needed)", ordering="needs_two")
    def approvals(self, payout: Payout) -> str:
        if payout.state == Payout.State.AWAITING_SECOND and payout.first_approved_by:
            return f"{_approvals(payout)} (first: {payout.first_approved_by.email})"
        return _approvals(payout)

    @admin.display(description="flags")
    def flag_codes(self, payout: Payout) -> str:
        flags = list(payout.flags.all())
        if not flags:
            return "—"
        return format_html_join(
            ", ", '<span title="{}">{}</span>', ((flag.message, flag.code) for flag in flags)
        )

    @admin.display(description="pay period ending", ordering="batch__cutoff")
    def period(self, payout: Payout) -> str:
        return f"{payout.batch.period.ends_at:%Y-%m-%d}"

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        payout = self.get_object(request, unquote(object_id))
        if payout is not None and self.has_view_permission(request, payout):
            extra_context = {**(extra_context or {}), **self._review_context(request, payout)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _review_context(self, request: HttpRequest, payout: Payout) -> dict[str, Any]:
        flags = [
            {
                "label": flag.get_code_display(),
                "message": flag.message,
                "evidence": evidence_html(_flag_evidence(flag)),
            }
            for flag in payout.flags.all()
        ]
        following = (
            Payout.objects.filter(batch_id=payout.batch_id, flagged=True, state="review")
            .exclude(pk=payout.pk)
            .order_by("-amount", "pk")
            .first()
        )
        decisions = []
        if payout.state == Payout.State.AWAITING_SECOND:
            decisions.append(("approve_selected", "Give the second approval"))
        elif payout.state == Payout.State.REVIEW:
            label = "Approve (first of two)" if payout.needs_two else "Approve"
            decisions.append(("approve_selected", label))
        if payout.state in DECIDABLE:
            decisions += [("hold_selected", "Hold…"), ("reject_selected", "Reject…")]
        if payout.state == Payout.State.SENT:
            decisions.append(("mark_paid", "Mark paid"))
        return {
            "payout": payout,
            "flags": flags,
            "approvals": _approvals(payout),
            "may_review": may_review(request),
            "decisions": decisions,
            "main_actions": ("approve_selected", "mark_paid"),
            "batch_url": change_url(payout.batch),
            "changelist_url": changelist_url(Payout),
            "batch_payouts_url": changelist_url(Payout, batch__id__exact=payout.batch_id),
            "next_flagged_url": change_url(following) if following else "",
            "here": request.path,
        }


@admin.register(PayoutAudit)
class PayoutAuditAdmin(ViewOnlyAdmin):
    list_display = ("at", "actor", "action", "subject", "reason")
    list_filter = ("action",)
    search_fields = ("payout__contributor__email", "actor__email", "reason")
    list_select_related = ("actor", "batch__period", "payout__contributor")
    date_hierarchy = "at"
    fields = ("at", "actor", "action", "batch", "payout", "reason", "details")
    readonly_fields = ("details",)

    @admin.display(description="about")
    def subject(self, audit: PayoutAudit) -> str:
        if audit.payout is not None:
            return format_html(
                '<a href="{}">{}</a>', change_url(audit.payout), payout_name(audit.payout)
            )
        if audit.batch is not None:
            return format_html('<a href="{}">{}</a>', change_url(audit.batch), audit.batch)
        return "Payout settings" if audit.action == "settings_changed" else "—"

    @admin.display(description="details")
    def details(self, audit: PayoutAudit) -> str:
        return evidence_html(audit.data) if audit.data else "—"
