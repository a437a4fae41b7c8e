"""Payout batches in the admin, each with its totals and the review panel of its page, and the
dispatches that sent a batch's approved payouts to the provider."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from marketplace import payout_selectors
from marketplace.admin.payout_base import ViewOnlyAdmin, changelist_url, may_review
from marketplace.admin.payout_views import BatchReviewMixin, DispatchCsvMixin
from marketplace.models import Payout, PayoutBatch, PayoutDispatch, PayoutFlag

OPEN_STATES = (Payout.State.REVIEW, Payout.State.AWAITING_SECOND)


def _money(amount: Decimal | None) -> str:
    """Two decimals: a sum over SQLite comes back without them."""
    return f"{amount or 0:.2f}"


@admin.register(PayoutBatch)
class PayoutBatchAdmin(BatchReviewMixin, ViewOnlyAdmin):
    list_display = (
        "period_display",
        "state",
        "payouts_count",
        "flagged_count",
        "open_count",
        "totals",
    )
    list_filter = ("state",)
    fieldsets = (
        (None, {"fields": ("period", "state", "cutoff", "minimum_amount", "four_eyes_amount")}),
        (
            "Build",
            {
                "classes": ("collapse",),
                "fields": (
                    "started_at",
                    "built_at",
                    "built_by",
                    "build_seconds",
                    "carried_count",
                    "carried",
                ),
            },
        ),
    )
    actions = ("approve_unflagged", "send_approved")
    change_form_template = "admin/marketplace/payouts/batch_change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[PayoutBatch]:
        return payout_selectors.batches_overview().annotate(
            open_count=Count("payouts", filter=Q(payouts__state__in=OPEN_STATES), distinct=True)
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        title = {"title": "Payout batches: open one to review it"}
        return super().changelist_view(request, {**title, **(extra_context or {})})

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        """Sum the page's batches by currency in one query."""
        changelist = super().get_changelist_instance(request)
        batches = list(changelist.result_list)
        sums: dict[int, list[tuple[str, str]]] = defaultdict(list)
        rows = (
            Payout.objects.filter(batch__in=batches)
            .values("batch_id", "currency")
            .annotate(total=Sum("amount"))
            .order_by("batch_id", "currency")
        )
        for row in rows:
            sums[row["batch_id"]].append((row["currency"], _money(row["total"])))
        for batch in batches:
            batch.currency_totals = sums[batch.pk]
        return changelist

    @admin.display(description="pay period", ordering="cutoff")
    def period_display(self, batch: PayoutBatch) -> str:
        return str(batch.period)

    @admin.display(description="payouts", ordering="payouts_count")
    def payouts_count(self, batch: PayoutBatch) -> int:
        return batch.payouts_count

    @admin.display(description="flagged", ordering="flagged_count")
    def flagged_count(self, batch: PayoutBatch) -> int:
        return batch.flagged_count

    @admin.display(description="to decide", ordering="open_count")
    def open_count(self, batch: PayoutBatch) -> int:
        return batch.open_count

    @admin.display(description="total")
    def totals(self, batch: PayoutBatch) -> str:
        sums = getattr(batch, "currency_totals", None)
        if sums is None:
            sums = [
                (row["currency"], _money(row["total"]))
                for row in Payout.objects.filter(batch=batch)
                .values("currency")
                .annotate(total=Sum("amount"))
                .order_by("currency")
            ]
        return ", ".join(f"{total} {currency}" for currency, total in sums) or "—"

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        batch = self.get_object(request, unquote(object_id))
        if batch is not None and self.has_view_permission(request, batch):
            extra_context = {**(extra_context or {}), **self._review_context(request, batch)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _review_context(self, request: HttpRequest, batch: PayoutBatch) -> dict[str, Any]:
        def payouts(**filters: Any) -> str:
            return changelist_url(Payout, batch__id__exact=batch.pk, **filters)

        by_state = Counter(
            dict(
                Payout.objects.filter(batch=batch)
                .values("state")
                .annotate(n=Count("id"))
                .values_list("state", "n")
            )
        )
        flagged = Payout.objects.filter(batch=batch, flagged=True)
        counts = {
            "payouts": sum(by_state.values()),
            "flagged": flagged.count(),
            "flagged_review": flagged.filter(state=Payout.State.REVIEW).count(),
            "open": by_state["review"] + by_state["awaiting_second"],
            "review": by_state["review"],
            "awaiting": by_state["awaiting_second"],
            "approved": by_state["approved"],
            "sent": by_state["sent"],
            # What a bulk approval may take: unflagged, in review or awaiting another's approval.
            "unflagged_open": Payout.objects.filter(
                batch=batch, flagged=False, state__in=OPEN_STATES
            )
            .exclude(contributor=request.user)
            .exclude(state=Payout.State.AWAITING_SECOND, first_approved_by=request.user)
            .count(),
        }
        states = dict(Payout.State.choices)
        totals: list[dict[str, Any]] = []
        for row in payout_selectors.batch_totals(batch=batch):
            totals.append(
                {
                    "currency": row["currency"],
                    "state": states.get(row["state"], row["state"]),
                    "count": row["count"],
                    "total": row["total"],
                    "url": payouts(currency__exact=row["currency"], state__exact=row["state"]),
                    "is_total": False,
                }
            )
        for currency in sorted({row["currency"] for row in totals}):
            mine = [row for row in totals if row["currency"] == currency]
            if len(mine) < 2:
                continue
            totals.append(
                {
                    "currency": currency,
                    "state": "All",
                    "count": sum(row["count"] for row in mine),
                    "total": sum((row["total"] for row in mine), Decimal(0)),
                    "url": payouts(currency__exact=currency),
                    "is_total": True,
                }
            )
        labels = dict(PayoutFlag.Code.choices)
        flag_counts = [
            {"label": labels.get(code, code), "count": n, "url": payouts(flag=code)}
            for code, n in PayoutFlag.objects.filter(payout__batch=batch)
            .values("code")
            .annotate(n=Count("id"))
            .order_by("-n", "code")
            .values_list("code", "n")
        ]
        dispatches = list(batch.dispatches.select_related("created_by").order_by("-created_at"))
        for dispatch in dispatches:
            dispatch.csv_url = reverse("admin:marketplace_payoutdispatch_csv", args=[dispatch.pk])
        return {
            "batch": batch,
            "counts": counts,
            "totals": [
                {**row, "total": _money(row["total"])}
                for row in sorted(totals, key=lambda row: (row["currency"], row["is_total"]))
            ],
            "flag_counts": flag_counts,
            "links": {
                "all": payouts(),
                "flagged_review": payouts(flagged__exact=1, state__exact="review"),
                "review": payouts(state__exact="review"),
                "awaiting": payouts(state__exact="awaiting_second"),
                "approved": payouts(state__exact="approved"),
                "sent": payouts(state__exact="sent"),
            },
            "dispatches": dispatches,
            "may_review": may_review(request),
            "approve_url": reverse(
                "admin:marketplace_payoutbatch_approve_unflagged", args=[batch.pk]
            ),
            "send_url": reverse("admin:marketplace_payoutbatch_send", args=[batch.pk]),
        }


@admin.register(PayoutDispatch)
class PayoutDispatchAdmin(DispatchCsvMixin, ViewOnlyAdmin):
    list_display = ("reference", "csv", "batch", "payouts_count", "created_by", "created_at")
    list_select_related = ("batch__period", "created_by")
    fields = (
        "reference",
        "batch",
        "provider",
        "payouts_count",
        "created_by",
        "created_at",
        "csv",
    )
    readonly_fields = ("csv",)

    @admin.display(description="file")
    def csv(self, dispatch: PayoutDispatch) -> str:
        if not dispatch.file:
            return "—"
        return format_html(
            '<a href="{}">Download the CSV</a>',
            reverse("admin:marketplace_payoutdispatch_csv", args=[dispatch.pk]),
        )
