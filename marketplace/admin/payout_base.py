"""What the payout admin's modules share: the finance permission check, refusals as messages,
links into the admin, how a payout is named and evidence reads, and the view-only base.

Throughout the payout admin, every action calls marketplace.services.payouts, which checks the
finance permission, locks and writes the audit log; a refusal (a DomainError) comes back as a
message, never an error page. None of it adds, edits or deletes payouts, their entries' links,
flags or audit entries.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from common.errors import DomainError
from marketplace.models import Payout
from marketplace.services.payouts.periods import REVIEW_PERMISSION

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


def may_review(request: HttpRequest) -> bool:
    return request.user.has_perm(REVIEW_PERMISSION)


def refusal(error: DomainError) -> str:
    """The service's message, with its field messages when it only says the input was bad."""
    details = "; ".join(message for messages_ in error.fields.values() for message in messages_)
    if details and details not in error.message:
        return f"{error.message} {details}"
    return error.message


def changelist_url(model: type[Any], **filters: Any) -> str:
    url = reverse(f"admin:marketplace_{model._meta.model_name}_changelist")
    if filters:
        url += "?" + "&".join(f"{key}={value}" for key, value in filters.items())
    return url


def change_url(obj: Any) -> str:
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


def payout_name(payout: Payout) -> str:
    return f"Payout {payout.pk} ({payout.contributor.email}, {payout.amount} {payout.currency})"


class ViewOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_review_permission(self, request: HttpRequest) -> bool:
        return may_review(request)
