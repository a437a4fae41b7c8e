"""Payouts: pay periods, building batches with their risk flags, finance review, paying and
reconciliation, split by step."""

from marketplace.services.payouts.build import (
    batch_build,
    batch_build_request,
    batches_build_due,
    payouts_totals,
)
from marketplace.services.payouts.notices import payout_notice_send
from marketplace.services.payouts.paying import (
    CsvFileProvider,
    PayoutProvider,
    SendResult,
    csv_safe,
    payout_reference,
    payouts_mark_paid,
    payouts_send,
    provider_get,
)
from marketplace.services.payouts.periods import (
    finance_check,
    next_cutoff,
    payout_settings,
    payout_settings_update,
    period_current,
    periods_ensure,
    previous_cutoff,
)
from marketplace.services.payouts.reconcile import Break, ledger_reconcile
from marketplace.services.payouts.review import (
    payout_approve,
    payout_hold,
    payout_reject,
    payouts_approve_unflagged,
)

__all__ = [
    "Break",
    "CsvFileProvider",
    "PayoutProvider",
    "SendResult",
    "batch_build",
    "batch_build_request",
    "batches_build_due",
    "csv_safe",
    "finance_check",
    "ledger_reconcile",
    "next_cutoff",
    "payout_approve",
    "payout_hold",
    "payout_notice_send",
    "payout_reference",
    "payout_reject",
    "payout_settings",
    "payout_settings_update",
    "payouts_approve_unflagged",
    "payouts_mark_paid",
    "payouts_send",
    "payouts_totals",
    "period_current",
    "periods_ensure",
    "previous_cutoff",
    "provider_get",
]
