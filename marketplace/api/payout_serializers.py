"""Shapes of the payouts API: a contributor's own payouts and statements, and finance review.

A contributor's shapes never carry flags, approvers, the audit or anyone else's rows; their
state is the one a contributor is shown (`contributor_state`). Money is a string with two
decimals beside its `currency`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.api.serializers import ID_MAX
from marketplace.models import (
    EarningEntry,
    Payout,
    PayoutBatch,
    PayoutDispatch,
    PayoutFlag,
    PayoutSettings,
)
from marketplace.payout_selectors import contributor_state
from marketplace.services.payouts import payout_reference


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


class PayPeriodOutput(serializers.Serializer):
    id = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(help_text="The cut-off: approved before it, paid in it.")


# A contributor's side.


class PayoutEntryOutput(serializers.Serializer):
    """One ledger entry a payout pays (or, once held or rejected, held back)."""

    id = serializers.IntegerField()
    project = serializers.IntegerField(source="project_id", allow_null=True)
    project_title = serializers.CharField(source="project.title", allow_null=True)
    kind = serializers.CharField(help_text="time, task, review, bonus, adjustment or reversal.")
    state = serializers.CharField(help_text="pending, approved, paid or reversed.")
    amount = _money()
    currency = serializers.CharField()
    hours = serializers.DecimalField(max_digits=9, decimal_places=4, allow_null=True)
    work_date = serializers.DateField()
    approved_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()


class MyPayoutOutput(serializers.Serializer):
    id = serializers.IntegerField()
    period = PayPeriodOutput(source="batch.period")
    amount = _money()
    currency = serializers.CharField()
    entries_count = serializers.IntegerField()
    state = serializers.SerializerMethodField(
        help_text="In review, Approved, Sent, Paid, On hold or Rejected."
    )
    reason = serializers.CharField(help_text="Why it was held or rejected; blank otherwise.")
    payout_email = serializers.CharField(help_text="Where it is paid (as at the build).")
    reference = serializers.CharField(
        source="provider_reference", help_text="The payment's reference, once sent."
    )
    sent_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)

    def get_state(self, payout: Payout) -> str:
        return contributor_state(payout)


class MyPayoutDetailOutput(MyPayoutOutput):
    entries = PayoutEntryOutput(many=True, source="entry_list")


class StatementPayoutOutput(serializers.Serializer):
    id = serializers.IntegerField()
    amount = _money()
    currency = serializers.CharField()
    state = serializers.SerializerMethodField()
    reference = serializers.CharField(source="provider_reference")

    def get_state(self, payout: Payout) -> str:
        return contributor_state(payout)


class StatementEntryOutput(PayoutEntryOutput):
    payout = serializers.IntegerField(
        source="payout.pk", allow_null=True, help_text="The payout that pays it, if any."
    )
    payout_reference = serializers.SerializerMethodField()

    def get_payout_reference(self, entry: EarningEntry) -> str:
        payout = getattr(entry, "payout", None)
        return payout_reference(payout) if payout else ""


class CurrencyAmountOutput(serializers.Serializer):
    currency = serializers.CharField()
    amount = _money()


class StatementOutput(serializers.Serializer):
    period = PayPeriodOutput()
    approved_total = CurrencyAmountOutput(
        many=True, help_text="Earnings approved in the period, per currency."
    )
    paid_out = CurrencyAmountOutput(
        many=True, help_text="In this period's payouts that were sent or paid."
    )
    in_review = CurrencyAmountOutput(
        many=True, help_text="In this period's payouts still in review or approved, not sent."
    )
    payouts = StatementPayoutOutput(many=True)
    entries = StatementEntryOutput(many=True)
    periods = PayPeriodOutput(many=True, help_text="The periods with a statement of yours.")


# Finance.


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$",
        "example": "00:00:00",
        "description": "A wall-clock time (HH:MM:SS) in the settings' time zone.",
    }
)
class LocalTimeField(serializers.TimeField):
    """A time of day without an offset: the schema's `time` format would promise one."""


class PayoutSettingsOutput(serializers.Serializer):
    length = serializers.ChoiceField(choices=PayoutSettings.Length.choices)
    cutoff_weekday = serializers.IntegerField(help_text="0 Monday … 6 Sunday.")
    cutoff_day = serializers.IntegerField()
    cutoff_time = LocalTimeField()
    time_zone = serializers.CharField()
    minimum_amount = _money(help_text="In each payout's currency.")
    four_eyes_amount = _money(help_text="In each payout's currency.")
    rise_factor = serializers.DecimalField(max_digits=5, decimal_places=2)
    task_time_factor = serializers.DecimalField(max_digits=5, decimal_places=2)
    gold_accuracy_below = serializers.DecimalField(max_digits=3, decimal_places=2)
    rejected_share_above = serializers.DecimalField(max_digits=3, decimal_places=2)
    updated_at = serializers.DateTimeField()
    updated_by = serializers.IntegerField(source="updated_by_id", allow_null=True)


class PayoutSettingsInput(serializers.Serializer):
    """The settings to change; those left out stay. Periods already made keep their bounds."""

    length = serializers.ChoiceField(choices=PayoutSettings.Length.choices, required=False)
    cutoff_weekday = serializers.IntegerField(
        min_value=0, max_value=6, required=False, help_text="0 Monday … 6 Sunday."
    )
    cutoff_day = serializers.IntegerField(min_value=1, max_value=28, required=False)
    cutoff_time = LocalTimeField(required=False)
    time_zone = serializers.CharField(max_length=64, required=False)
    minimum_amount = _money(min_value=Decimal("0.01"), required=False)
    four_eyes_amount = _money(min_value=Decimal("0.01"), required=False)
    rise_factor = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=Decimal("1.01"), required=False
    )
    task_time_factor = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=Decimal("1.01"), required=False
    )
    gold_accuracy_below = serializers.DecimalField(
        max_digits=3, decimal_places=2, min_value=0, max_value=1, required=False
    )
    rejected_share_above = serializers.DecimalField(
        max_digits=3, decimal_places=2, min_value=0, max_value=1, required=False
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Change at least one setting.")
        return attrs


class PayoutBatchBriefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()


class FinancePeriodOutput(PayPeriodOutput):
    time_zone = serializers.CharField()
    is_closed = serializers.BooleanField()
    batch = PayoutBatchBriefOutput(allow_null=True, help_text="Null until its batch is built.")


class PayoutBatchOutput(serializers.Serializer):
    id = serializers.IntegerField()
    period = PayPeriodOutput()
    state = serializers.CharField(help_text="building or ready.")
    cutoff = serializers.DateTimeField()
    minimum_amount = _money()
    four_eyes_amount = _money()
    built_at = serializers.DateTimeField(allow_null=True)
    built_by = serializers.IntegerField(source="built_by_id", allow_null=True)
    payouts_count = serializers.IntegerField()
    flagged_count = serializers.IntegerField()
    carried_count = serializers.IntegerField(
        help_text="Balances under the minimum, carried to the next period."
    )
    carried = serializers.SerializerMethodField(help_text="Carried amounts per currency.")

    @extend_schema_field(CurrencyAmountOutput(many=True))
    def get_carried(self, batch: PayoutBatch) -> Any:
        rows = [{"currency": c, "amount": a} for c, a in sorted(batch.carried.items())]
        return CurrencyAmountOutput(rows, many=True).data


class PayoutBatchTotalOutput(serializers.Serializer):
    currency = serializers.CharField()
    state = serializers.CharField()
    count = serializers.IntegerField()
    total = _money()


class PayoutDispatchOutput(serializers.Serializer):
    id = serializers.IntegerField()
    batch = serializers.IntegerField(source="batch_id")
    provider = serializers.CharField()
    reference = serializers.CharField()
    payouts_count = serializers.IntegerField(help_text="Payouts the provider took.")
    created_by = serializers.IntegerField(source="created_by_id")
    created_at = serializers.DateTimeField()
    download_url = serializers.SerializerMethodField(
        help_text="The file handed to the provider; null when it wrote none."
    )

    def get_download_url(self, dispatch: PayoutDispatch) -> str | None:
        if not dispatch.file:
            return None
        url = reverse("finance-dispatch-csv", args=[dispatch.pk])
        return self.context["request"].build_absolute_uri(url)


class PayoutBatchDetailOutput(PayoutBatchOutput):
    totals = PayoutBatchTotalOutput(
        many=True, source="totals_list", help_text="Payouts and their sum per currency and state."
    )
    dispatches = PayoutDispatchOutput(many=True, source="dispatch_list")


class PayeeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()


class PayoutFlagOutput(serializers.Serializer):
    code = serializers.ChoiceField(choices=PayoutFlag.Code.choices)
    message = serializers.CharField()
    evidence = serializers.JSONField()


class FinancePayoutOutput(serializers.Serializer):
    id = serializers.IntegerField()
    batch = serializers.IntegerField(source="batch_id")
    contributor = PayeeOutput()
    amount = _money()
    currency = serializers.CharField()
    entries_count = serializers.IntegerField()
    payout_email = serializers.CharField()
    state = serializers.CharField(
        help_text="review, awaiting_second, approved, sent, paid, held or rejected."
    )
    flagged = serializers.BooleanField()
    needs_two = serializers.BooleanField(help_text="At or above the four-eyes amount.")
    flags = PayoutFlagOutput(many=True)
    first_approved_by = serializers.IntegerField(source="first_approved_by_id", allow_null=True)
    first_approved_at = serializers.DateTimeField(allow_null=True)
    approved_by = serializers.IntegerField(source="approved_by_id", allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    decided_by = serializers.IntegerField(source="decided_by_id", allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()
    provider_reference = serializers.CharField()
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    sent_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    paid_by = serializers.IntegerField(source="paid_by_id", allow_null=True)


class PayoutAuditOutput(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor = serializers.IntegerField(source="actor_id", allow_null=True)
    actor_email = serializers.EmailField(source="actor.email", allow_null=True)
    action = serializers.CharField()
    batch = serializers.IntegerField(source="batch_id", allow_null=True)
    payout = serializers.IntegerField(source="payout_id", allow_null=True)
    reason = serializers.CharField()
    data = serializers.JSONField()


class FinancePayoutDetailOutput(FinancePayoutOutput):
    entries = PayoutEntryOutput(many=True, source="entry_list")
    audit = PayoutAuditOutput(many=True, source="audit_trail", help_text="Oldest first.")


class BatchPayoutsQuery(serializers.Serializer):
    state = serializers.ChoiceField(choices=Payout.State.choices, required=False)
    flagged = serializers.BooleanField(required=False, allow_null=True, default=None)
    flag = serializers.ChoiceField(choices=PayoutFlag.Code.choices, required=False)


class PayoutAuditQuery(serializers.Serializer):
    batch = serializers.IntegerField(min_value=1, required=False)
    payout = serializers.IntegerField(min_value=1, required=False)


class PayoutRejectInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="The contributor sees it.")
    entries = serializers.ChoiceField(
        choices=[
            ("return", "Return them to the unpaid balance"),
            ("reverse", "Reverse them in the ledger"),
        ],
        help_text="return: a later batch pays them; reverse: each earning is cancelled.",
    )


class PayoutsMarkPaidInput(serializers.Serializer):
    payouts = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=ID_MAX), min_length=1, max_length=1000
    )


class ApproveUnflaggedOutput(serializers.Serializer):
    approved = serializers.IntegerField()
    awaiting_second = serializers.IntegerField(
        help_text="Given this admin's first approval; another finance admin gives the second."
    )


class ReconcileBreakOutput(serializers.Serializer):
    rule = serializers.CharField()
    description = serializers.CharField()
    rows = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Up to 50 offending rows, their values as strings.",
    )


class ReconciliationOutput(serializers.Serializer):
    ok = serializers.BooleanField()
    breaks = ReconcileBreakOutput(many=True)
