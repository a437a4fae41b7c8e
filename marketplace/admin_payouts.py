"""Finance review of payouts in the admin: pay periods, batches with their totals, payouts with
their flags, entries and audit trail, the files sent to the provider, and the payout settings.

Every action calls marketplace.services.payouts, which checks the finance permission, locks and
writes the audit log; a refusal (a DomainError) comes back as a message, never an error page.
Nothing here adds, edits or deletes payouts, their entries' links, flags or audit entries. The
few pages of its own (the reason asked before a hold or rejection, the review panels of a batch
and a payout) are small template strings kept beside the code that fills them.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import Count, Q, QuerySet, Sum
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString

from common.errors import DomainError
from contributors.models import User
from marketplace import payout_selectors
from marketplace.models import (
    Payout,
    PayoutAudit,
    PayoutBatch,
    PayoutDispatch,
    PayoutFlag,
    PayoutItem,
    PayoutSettings,
    PayPeriod,
    Project,
)
from marketplace.services import payouts as services
from marketplace.services.payouts.periods import REVIEW_PERMISSION, SETTINGS_FIELDS

OPEN_STATES = (Payout.State.REVIEW, Payout.State.AWAITING_SECOND)
DECIDABLE = (Payout.State.REVIEW, Payout.State.AWAITING_SECOND, Payout.State.APPROVED)

# The page that asks for the reason of a hold or a rejection, for one or many payouts.
DECIDE_PAGE = """{% extends "admin/base_site.html" %}
{% block breadcrumbs %}<div class="breadcrumbs"><a href="{% url 'admin:index' %}">Home</a>
&rsaquo; <a href="{{ changelist_url }}">Payouts</a> &rsaquo; {{ title }}</div>{% endblock %}
{% block content %}<div id="content-main">
<p>{{ intro }}</p>
<table>
<thead><tr><th>Contributor</th><th>Amount</th><th>State</th><th>Flags</th></tr></thead>
<tbody>{% for payout in payouts %}<tr><td>{{ payout.contributor.full_name }}
&lt;{{ payout.contributor.email }}&gt;</td><td>{{ payout.amount }} {{ payout.currency }}</td>
<td>{{ payout.get_state_display }}</td>
<td>{% for flag in payout.flags.all %}{{ flag.get_code_display }}{% if not forloop.last %},
{% endif %}{% empty %}—{% endfor %}</td></tr>{% endfor %}</tbody>
</table>
<form method="post" novalidate>{% csrf_token %}
{% for payout in payouts %}<input type="hidden" name="_selected_action" value="{{ payout.pk }}">
{% endfor %}<input type="hidden" name="action" value="{{ action }}">
<input type="hidden" name="apply" value="1">
{% if next %}<input type="hidden" name="next" value="{{ next }}">{% endif %}
<fieldset class="module aligned">{% for field in form %}<div class="form-row">
{{ field.errors }}<div class="flex-container">{{ field.label_tag }} {{ field }}</div>
{% if field.help_text %}<div class="help">{{ field.help_text }}</div>{% endif %}</div>
{% endfor %}</fieldset>
<div class="submit-row"><input type="submit" class="default" value="{{ verb }}">
<a href="{{ back_url }}" class="button cancel-link">Cancel</a></div>
</form></div>{% endblock %}
"""

# The pages carry no style of their own (the Content-Security-Policy allows none inline): the
# admin's own classes lay them out.

# A batch: what is in it, by currency and state, with links into its payouts, and its actions.
BATCH_PAGE = """{% extends "admin/change_form.html" %}
{% block object-tools %}{{ block.super }}
<div class="module clear" id="batch-review"><h2>Review this batch</h2>
{% if batch.state != "ready" %}<p>This batch is still being built; it can be reviewed once it
is ready.</p>{% else %}
<p>{{ counts.payouts }} payout{{ counts.payouts|pluralize }} · {{ counts.flagged }} flagged ·
{{ counts.open }} still to decide. Payouts of {{ batch.four_eyes_amount }} or more need two
different finance admins.</p>
<p><strong>Open the payouts:</strong> <a href="{{ links.all }}">all ({{ counts.payouts }})</a> ·
<a href="{{ links.flagged_review }}">flagged, in review ({{ counts.flagged_review }})</a> ·
<a href="{{ links.review }}">in review ({{ counts.review }})</a> ·
<a href="{{ links.awaiting }}">awaiting a second approval ({{ counts.awaiting }})</a> ·
<a href="{{ links.approved }}">approved, not sent ({{ counts.approved }})</a> ·
<a href="{{ links.sent }}">sent, not marked paid ({{ counts.sent }})</a></p>
{% if flag_counts %}<p><strong>Flags:</strong> {% for row in flag_counts %}
<a href="{{ row.url }}">{{ row.label }} ({{ row.count }})</a>{% if not forloop.last %} ·
{% endif %}{% endfor %}</p>{% endif %}
<table><thead><tr><th>Currency</th><th>State</th><th>Payouts</th><th>Amount</th></tr></thead>
<tbody>{% for row in totals %}<tr><td>{{ row.currency }}</td>
<td><a href="{{ row.url }}">{% if row.is_total %}<strong>{{ row.state }}</strong>{% else %}
{{ row.state }}{% endif %}</a></td><td>{{ row.count }}</td>
<td>{% if row.is_total %}<strong>{{ row.total }} {{ row.currency }}</strong>{% else %}
{{ row.total }} {{ row.currency }}{% endif %}</td></tr>
{% empty %}<tr><td colspan="4">No payouts: nobody had enough approved earnings.</td></tr>
{% endfor %}</tbody></table>
{% if batch.carried_count %}<p>{{ batch.carried_count }} balance{{ batch.carried_count|pluralize }}
under the minimum of {{ batch.minimum_amount }} carried to the next period
({% for currency, amount in batch.carried.items %}{{ amount }} {{ currency }}
{% if not forloop.last %}, {% endif %}{% endfor %}).</p>{% endif %}
{% if may_review %}
<div class="submit-row"><form method="post" action="{{ approve_url }}">{% csrf_token %}
<input type="submit" class="default"
value="Approve all unflagged payouts ({{ counts.unflagged_open }})"
{% if not counts.unflagged_open %}disabled{% endif %}></form>
<form method="post" action="{{ send_url }}">{% csrf_token %}
<input type="submit" value="Send the approved payouts ({{ counts.approved }})"
{% if not counts.approved %}disabled{% endif %}></form></div>
<p class="help">Flagged payouts are never approved in bulk: open each one, read its flags, then
approve, hold or reject it. Sending writes the CSV file of the approved payouts for the bank;
mark them paid once the bank confirms.</p>
{% endif %}
{% endif %}
{% if dispatches %}<h3>Sent to the provider</h3><ul>{% for dispatch in dispatches %}
<li>{{ dispatch.created_at|date:"j M Y, H:i" }} by {{ dispatch.created_by.email }}:
{{ dispatch.payouts_count }} payout{{ dispatch.payouts_count|pluralize }}
({{ dispatch.reference }}){% if dispatch.file and may_review %} ·
<a href="{{ dispatch.csv_url }}">Download the CSV</a>{% endif %}</li>
{% endfor %}</ul>{% endif %}
</div>
{% endblock %}
"""

# A payout: its state, its flags with their evidence, and the decisions open to the reviewer.
PAYOUT_PAGE = """{% extends "admin/change_form.html" %}
{% block object-tools %}{{ block.super }}
<div class="module clear" id="payout-review"><h2>{{ payout.contributor.full_name }}
&lt;{{ payout.contributor.email }}&gt;: {{ payout.amount }} {{ payout.currency }}</h2>
<p><strong>{{ payout.get_state_display }}</strong>{% if approvals != "—" %} · approvals:
{{ approvals }}{% endif %}
{% if payout.first_approved_by %}(first given by {{ payout.first_approved_by.email }}){% endif %}
{% if payout.reason %} · reason: {{ payout.reason }}{% endif %}
{% if payout.last_error %} · last attempt failed: {{ payout.last_error }}{% endif %}</p>
{% if flags %}<table><thead><tr><th>Flag</th><th>What was found</th><th>Evidence</th></tr>
</thead><tbody>{% for flag in flags %}<tr><td><strong>{{ flag.label }}</strong></td>
<td>{{ flag.message }}</td><td>{{ flag.evidence }}</td></tr>{% endfor %}</tbody></table>
{% else %}<p>No risk flags.</p>{% endif %}
{% if may_review and decisions %}<div class="submit-row">{% for action, label in decisions %}
<form method="post" action="{{ changelist_url }}">{% csrf_token %}
<input type="hidden" name="_selected_action" value="{{ payout.pk }}">
<input type="hidden" name="next" value="{{ here }}">
<input type="hidden" name="action" value="{{ action }}">
<input type="submit" value="{{ label }}"{% if action in main_actions %} class="default"{% endif %}>
</form>{% endfor %}</div>{% endif %}
<p><a href="{{ batch_payouts_url }}">← Payouts of this batch</a> ·
<a href="{{ batch_url }}">The batch</a>{% if next_flagged_url %} ·
<a href="{{ next_flagged_url }}">Next flagged payout in review →</a>{% endif %}</p>
</div>
{% endblock %}
"""

TEMPLATES = {"decide": DECIDE_PAGE, "batch": BATCH_PAGE, "payout": PAYOUT_PAGE}

LABELS = {
    "declared_weekly_hours": "Declared hours a week",
    "weeks_over": "Weeks over",
    "week_of": "Week of",
    "median_seconds": "Median seconds a task",
    "project_median_seconds": "Project's median",
    "gold_mean": "Gold accuracy",
    "interval_90": "90% interval",
    "gold_answered": "Gold answers",
    "payout_email": "Payout e-mail",
    "other_accounts": "Also given by",
    "earlier_payouts": "Earlier payouts",
    "held_payout": "Held payout",
    "median_before": "Median before",
    "payouts_before": "Payouts before",
    "project_id": "Project",
}


@functools.cache
def _template(name: str) -> Any:
    return engines["django"].from_string(TEMPLATES[name])


def _may_review(request: HttpRequest) -> bool:
    return request.user.has_perm(REVIEW_PERMISSION)


def _refusal(error: DomainError) -> str:
    """The service's message, with its field messages when it only says the input was bad."""
    details = "; ".join(message for messages_ in error.fields.values() for message in messages_)
    if details and details not in error.message:
        return f"{error.message} {details}"
    return error.message


def _next_url(request: HttpRequest) -> str | None:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _changelist(model: type[Any], **filters: Any) -> str:
    url = reverse(f"admin:marketplace_{model._meta.model_name}_changelist")
    if filters:
        url += "?" + "&".join(f"{key}={value}" for key, value in filters.items())
    return url


def _change(obj: Any) -> str:
    return reverse(f"admin:marketplace_{obj._meta.model_name}_change", args=[obj.pk])


def _label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " ").capitalize())


def evidence_html(value: Any) -> SafeString:
    """Render a flag's evidence or an audit entry's data (JSON) as nested lists and tables."""
    if isinstance(value, dict):
        if not value:
            return format_html("—")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{}: {}</li>",
                ((_label(key), evidence_html(item)) for key, item in value.items()),
            ),
        )
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        keys = list(dict.fromkeys(key for item in value for key in item))
        head = format_html_join("", "<th>{}</th>", ((_label(key),) for key in keys))
        rows = format_html_join(
            "",
            "<tr>{}</tr>",
            (
                (
                    format_html_join(
                        "", "<td>{}</td>", ((evidence_html(item.get(key, "")),) for key in keys)
                    ),
                )
                for item in value
            ),
        )
        return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, rows)
    if isinstance(value, list):
        return format_html_join(", ", "{}", ((evidence_html(item),) for item in value)) or (
            format_html("—")
        )
    return format_html("{}", value)


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


def _money(amount: Decimal | None) -> str:
    """Two decimals: a sum over SQLite comes back without them."""
    return f"{amount or 0:.2f}"


def _approvals(payout: Payout) -> str:
    if payout.state in (Payout.State.HELD, Payout.State.REJECTED):
        return "—"
    given = (payout.first_approved_by_id is not None) + (payout.approved_by_id is not None)
    return f"{given} of {2 if payout.needs_two else 1}"


def _payout_name(payout: Payout) -> str:
    return f"Payout {payout.pk} ({payout.contributor.email}, {payout.amount} {payout.currency})"


# Review steps shared by the actions on payouts and batches and the batch page's buttons.


def _approve_unflagged(admin_: admin.ModelAdmin, request: HttpRequest, batch_id: int) -> None:
    try:
        counts = services.payouts_approve_unflagged(batch_id=batch_id, actor=request.user)
    except DomainError as error:
        admin_.message_user(request, _refusal(error), messages.ERROR)
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
        admin_.message_user(request, _refusal(error), messages.ERROR)
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
            f"{_payout_name(payout)} was not sent and stays approved: {payout.last_error}",
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


class ViewOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_review_permission(self, request: HttpRequest) -> bool:
        return _may_review(request)


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
        return super().has_change_permission(request, obj) and _may_review(request)

    @admin.display(description="history")
    def history(self, settings: PayoutSettings) -> str:
        return format_html(
            '<a href="{}">Changes in the payout audit log</a>',
            _changelist(PayoutAudit, action__exact="settings_changed"),
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)  # refuses as the admin does
        return HttpResponseRedirect(_change(services.payout_settings()))

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
            self.message_user(request, _refusal(error), messages.ERROR)

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
        return format_html('<a href="{}">{}</a>', _change(batch), batch.get_state_display())

    @admin.action(description="Build the batch of the selected periods", permissions=["review"])
    def build_batch(self, request: HttpRequest, queryset: QuerySet[PayPeriod]) -> None:
        for period in queryset.order_by("ends_at"):
            try:
                batch = services.batch_build(period_id=period.pk, actor=request.user)
            except DomainError as error:
                self.message_user(request, f"{period}: {_refusal(error)}", messages.ERROR)
                continue
            totals = services.payouts_totals(batch)
            self.message_user(
                request,
                format_html(
                    '{}: <a href="{}">batch</a> ready with {} payouts, {} flagged.',
                    period,
                    _change(batch),
                    totals["payouts"],
                    totals["flagged"],
                ),
                messages.SUCCESS,
            )


@admin.register(PayoutBatch)
class PayoutBatchAdmin(ViewOnlyAdmin):
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

    @property
    def change_form_template(self) -> Any:  # type: ignore[override]  # a compiled template
        return _template("batch")

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
        return HttpResponseRedirect(_change(batch))

    def send_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        batch = self._batch_or_none(request, object_id)
        if batch is None:
            return HttpResponseRedirect(reverse("admin:index"))
        if request.method == "POST":
            _send(self, request, batch.pk)
        return HttpResponseRedirect(_change(batch))

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
            return _changelist(Payout, batch__id__exact=batch.pk, **filters)

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
            "may_review": _may_review(request),
            "approve_url": reverse(
                "admin:marketplace_payoutbatch_approve_unflagged", args=[batch.pk]
            ),
            "send_url": reverse("admin:marketplace_payoutbatch_send", args=[batch.pk]),
        }

    @admin.action(description="Approve all unflagged payouts of the batch", permissions=["review"])
    def approve_unflagged(self, request: HttpRequest, queryset: QuerySet[PayoutBatch]) -> None:
        for batch_id in queryset.order_by("pk").values_list("pk", flat=True):
            _approve_unflagged(self, request, batch_id)

    @admin.action(description="Send the batch's approved payouts (CSV)", permissions=["review"])
    def send_approved(self, request: HttpRequest, queryset: QuerySet[PayoutBatch]) -> None:
        for batch_id in queryset.order_by("pk").values_list("pk", flat=True):
            _send(self, request, batch_id)


@admin.register(Payout)
class PayoutAdmin(ViewOnlyAdmin):
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

    @property
    def change_form_template(self) -> Any:  # type: ignore[override]  # a compiled template
        return _template("payout")

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
            "may_review": _may_review(request),
            "decisions": decisions,
            "main_actions": ("approve_selected", "mark_paid"),
            "batch_url": _change(payout.batch),
            "changelist_url": _changelist(Payout),
            "batch_payouts_url": _changelist(Payout, batch__id__exact=payout.batch_id),
            "next_flagged_url": _change(following) if following else "",
            "here": request.path,
        }

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
                    request, f"{_payout_name(payout)}: {_refusal(error)}", messages.ERROR
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
                        request, f"{_payout_name(payout)}: {_refusal(error)}", messages.ERROR
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
            _template("decide"),
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
                "changelist_url": _changelist(Payout),
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
            self.message_user(request, _refusal(error), messages.ERROR)
        else:
            self.message_user(
                request, f"Marked {count} payout{'s' * (count != 1)} paid.", messages.SUCCESS
            )
        return self._back(request)


@admin.register(PayoutDispatch)
class PayoutDispatchAdmin(ViewOnlyAdmin):
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
            self.message_user(request, _refusal(error), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:index"))
        dispatch = self.get_object(request, unquote(object_id))
        if dispatch is None or not dispatch.file:
            self.message_user(request, "This dispatch has no file.", messages.ERROR)
            return HttpResponseRedirect(_changelist(PayoutDispatch))
        return FileResponse(
            dispatch.file.open("rb"),
            as_attachment=True,
            filename=f"{dispatch.reference}.csv",
            content_type="text/csv",
        )


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
                '<a href="{}">{}</a>', _change(audit.payout), _payout_name(audit.payout)
            )
        if audit.batch is not None:
            return format_html('<a href="{}">{}</a>', _change(audit.batch), audit.batch)
        return "Payout settings" if audit.action == "settings_changed" else "—"

    @admin.display(description="details")
    def details(self, audit: PayoutAudit) -> str:
        return evidence_html(audit.data) if audit.data else "—"
