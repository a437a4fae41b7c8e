"""The payout admin's actions and views of its own: the review steps of a batch (bulk approval of
the unflagged payouts, sending), a payout's decisions with the page that asks for the reason of a
hold or a rejection, and the download of a dispatch's CSV.

They come as mixins of the ModelAdmins in payouts.py and payout_batches.py, which list the
actions by name.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme

from common.errors import DomainError
from marketplace.admin.payout_base import change_url, changelist_url, payout_name, refusal
from marketplace.models import Payout, PayoutBatch, PayoutDispatch
from marketplace.services import payouts as services


def _next_url(request: HttpRequest) -> str | None:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


# Review steps shared by the actions on payouts and batches and the batch page's buttons.


def _approve_unflagged(admin_: admin.ModelAdmin, request: HttpRequest, batch_id: int) -> None:
    try:
        counts = services.payouts_approve_unflagged(batch_id=batch_id, actor=request.user)
    except DomainError as error:
        admin_.message_user(request, refusal(error), messages.ERROR)
        return
    left = Payout.objects.filter(batch_id=batch_id, state=Payout.State.REVIEW).count()
    text = f"Approved {counts['approved']} unflagged payout{'s' * (counts['approved'] != 1)}"
    if counts["awaiting_second"]:
        many = counts["awaiting_second"] != 1
        text += (
            f"; {counts['awaiting_second']} of the four-eyes amount or more now "
            f"await{'' if many else 's'} a second finance admin's approval"
        )
    text += f". {left} payout{'s' * (left != 1)} left in review (flagged, or your own)."
    admin_.message_user(request, text, messages.SUCCESS)


def _send(admin_: admin.ModelAdmin, request: HttpRequest, batch_id: int) -> None:
    try:
        dispatch = services.payouts_send(batch_id=batch_id, actor=request.user)
    except DomainError as error:
        admin_.message_user(request, refusal(error), messages.ERROR)
        return
    if dispatch.payouts_count:
        text = format_html(
            "Sent {} payout{} to the provider ({}).",
            dispatch.payouts_count,
            "s" if dispatch.payouts_count != 1 else "",
            dispatch.reference,
        )
        if dispatch.file:
            text = format_html(
                '{} <a href="{}">Download the CSV</a> for the bank.',
                text,
                reverse("admin:marketplace_payoutdispatch_csv", args=[dispatch.pk]),
            )
        admin_.message_user(request, text, messages.SUCCESS)
    stuck = Payout.objects.filter(
        batch_id=batch_id, state=Payout.State.APPROVED, dispatch__isnull=True
    ).exclude(last_error="")
    for payout in stuck.select_related("contributor").order_by("pk"):
        admin_.message_user(
            request,
            f"{payout_name(payout)} was not sent and stays approved: {payout.last_error}",
            messages.WARNING,
        )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="The contributor sees it, and it is kept in the audit log.",
    )


class RejectForm(ReasonForm):
    entries = forms.ChoiceField(
        label="Its earnings",
        choices=[
            ("return", "Return them to the contributor's balance (a later batch pays them)"),
            ("reverse", "Reverse them (cancelled with reversal entries, never paid)"),
        ],
        widget=forms.RadioSelect,
        initial="return",
    )


class BatchReviewMixin(admin.ModelAdmin):
    """The batch page's buttons (approve the unflagged, send) and the same steps as actions."""

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/approve-unflagged/",
                view(self.approve_unflagged_view),
                name="marketplace_payoutbatch_approve_unflagged",
            ),
            path(
                "<path:object_id>/send/",
                view(self.send_view),
                name="marketplace_payoutbatch_send",
            ),
            *super().get_urls(),
        ]

    def _batch_or_none(self, request: HttpRequest, object_id: str) -> PayoutBatch | None:
        if not self.has_view_permission(request):
            return None
        return self.get_object(request, unquote(object_id))

    def approve_unflagged_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        batch = self._batch_or_none(request, object_id)
        if batch is None:
            return HttpResponseRedirect(reverse("admin:index"))
        if request.method == "POST":
            _approve_unflagged(self, request, batch.pk)
        return HttpResponseRedirect(change_url(batch))

    def send_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        batch = self._batch_or_none(request, object_id)
        if batch is None:
            return HttpResponseRedirect(reverse("admin:index"))
        if request.method == "POST":
            _send(self, request, batch.pk)
        return HttpResponseRedirect(change_url(batch))

    @admin.action(description="Approve all unflagged payouts of the batch", permissions=["review"])
    def approve_unflagged(self, request: HttpRequest, queryset: QuerySet[PayoutBatch]) -> None:
        for batch_id in queryset.order_by("pk").values_list("pk", flat=True):
            _approve_unflagged(self, request, batch_id)

    @admin.action(description="Send the batch's approved payouts (CSV)", permissions=["review"])
    def send_approved(self, request: HttpRequest, queryset: QuerySet[PayoutBatch]) -> None:
        for batch_id in queryset.order_by("pk").values_list("pk", flat=True):
            _send(self, request, batch_id)


class PayoutDecisionsMixin(admin.ModelAdmin):
    """The decisions on payouts, as actions; the payout page's buttons post them one at a time,
    with the page to come back to in `next`."""

    def _back(self, request: HttpRequest) -> HttpResponse | None:
        target = _next_url(request)
        return HttpResponseRedirect(target) if target else None

    @admin.action(description="Approve selected payouts", permissions=["review"])
    def approve_selected(
        self, request: HttpRequest, queryset: QuerySet[Payout]
    ) -> HttpResponse | None:
        done: Counter[str] = Counter()
        for payout in queryset.order_by("pk"):
            try:
                approved = services.payout_approve(payout_id=payout.pk, actor=request.user)
            except DomainError as error:
                self.message_user(
                    request, f"{payout_name(payout)}: {refusal(error)}", messages.ERROR
                )
            else:
                done[approved.state] += 1
        if done[Payout.State.APPROVED]:
            count = done[Payout.State.APPROVED]
            self.message_user(
                request, f"Approved {count} payout{'s' * (count != 1)}.", messages.SUCCESS
            )
        if done[Payout.State.AWAITING_SECOND]:
            count = done[Payout.State.AWAITING_SECOND]
            self.message_user(
                request,
                f"Gave the first approval to {count} payout{'s' * (count != 1)} of the four-eyes "
                "amount or more; a second, different finance admin must approve "
                f"{'them' if count != 1 else 'it'} too.",
                messages.SUCCESS,
            )
        return self._back(request)

    @admin.action(
        description="Approve all unflagged payouts of their batch", permissions=["review"]
    )
    def approve_unflagged(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        for batch_id in sorted(set(queryset.values_list("batch_id", flat=True))):
            _approve_unflagged(self, request, batch_id)

    def _decide(
        self,
        request: HttpRequest,
        queryset: QuerySet[Payout],
        *,
        form_class: type[ReasonForm],
        verb: str,
        intro: str,
    ) -> HttpResponse | None:
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            done = 0
            for payout in queryset.order_by("pk"):
                try:
                    if verb == "Hold":
                        services.payout_hold(
                            payout_id=payout.pk,
                            actor=request.user,
                            reason=form.cleaned_data["reason"],
                        )
                    else:
                        services.payout_reject(
                            payout_id=payout.pk,
                            actor=request.user,
                            reason=form.cleaned_data["reason"],
                            entries=form.cleaned_data["entries"],
                        )
                    done += 1
                except DomainError as error:
                    self.message_user(
                        request, f"{payout_name(payout)}: {refusal(error)}", messages.ERROR
                    )
            if done:
                past = "Held" if verb == "Hold" else "Rejected"
                self.message_user(
                    request, f"{past} {done} payout{'s' * (done != 1)}.", messages.SUCCESS
                )
            return self._back(request)
        payouts = list(queryset.order_by("pk"))
        return TemplateResponse(
            request,
            "admin/marketplace/payouts/decide.html",
            {
                **self.admin_site.each_context(request),
                "title": f"{verb} {len(payouts)} payout{'s' * (len(payouts) != 1)}",
                "intro": intro,
                "verb": verb,
                "payouts": payouts,
                "form": form,
                "action": request.POST.get("action", ""),
                "next": _next_url(request) or "",
                "back_url": _next_url(request) or request.get_full_path(),
                "changelist_url": changelist_url(Payout),
                "opts": self.model._meta,
            },
        )

    @admin.action(description="Hold selected payouts…", permissions=["review"])
    def hold_selected(
        self, request: HttpRequest, queryset: QuerySet[Payout]
    ) -> HttpResponse | None:
        return self._decide(
            request,
            queryset,
            form_class=ReasonForm,
            verb="Hold",
            intro="A held payout is not paid now: its earnings stay the contributor's and are "
            "carried to the next batch, where the payout is flagged as held before. The "
            "contributor is told, with your reason.",
        )

    @admin.action(description="Reject selected payouts…", permissions=["review"])
    def reject_selected(
        self, request: HttpRequest, queryset: QuerySet[Payout]
    ) -> HttpResponse | None:
        return self._decide(
            request,
            queryset,
            form_class=RejectForm,
            verb="Reject",
            intro="A rejected payout is not paid. Choose what happens to its earnings.",
        )

    @admin.action(
        description="Send the approved payouts of their batch (CSV)", permissions=["review"]
    )
    def send_approved(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        for batch_id in sorted(set(queryset.values_list("batch_id", flat=True))):
            _send(self, request, batch_id)

    @admin.action(description="Mark selected sent payouts paid", permissions=["review"])
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[Payout]) -> HttpResponse | None:
        try:
            count = services.payouts_mark_paid(
                payout_ids=list(queryset.values_list("pk", flat=True)), actor=request.user
            )
        except DomainError as error:
            self.message_user(request, refusal(error), messages.ERROR)
        else:
            self.message_user(
                request, f"Marked {count} payout{'s' * (count != 1)} paid.", messages.SUCCESS
            )
        return self._back(request)


class DispatchCsvMixin(admin.ModelAdmin):
    """The download of the file a dispatch sent."""

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<path:object_id>/csv/",
                self.admin_site.admin_view(self.csv_view),
                name="marketplace_payoutdispatch_csv",
            ),
            *super().get_urls(),
        ]

    def csv_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The file as it was sent; it holds payout e-mails and amounts, so finance only."""
        try:
            services.finance_check(request.user)
        except DomainError as error:
            self.message_user(request, refusal(error), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:index"))
        dispatch = self.get_object(request, unquote(object_id))
        if dispatch is None or not dispatch.file:
            self.message_user(request, "This dispatch has no file.", messages.ERROR)
            return HttpResponseRedirect(changelist_url(PayoutDispatch))
        return FileResponse(
            dispatch.file.open("rb"),
            as_attachment=True,
            filename=f"{dispatch.reference}.csv",
            content_type="text/csv",
        )
