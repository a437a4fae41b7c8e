"""Writes of the marketplace. The evaluations app reaches the ledger through these."""

from marketplace.services.fairpay import FairPayRow, fair_pay_report, fair_pay_top_up
from marketplace.services.ledger import (
    earning_adjust,
    earning_for_source,
    earning_from_session,
    earning_record_review,
    earning_record_task,
    earning_reverse,
    earning_write,
    earnings_approve,
)
from marketplace.services.projects import (
    PROJECT_TRANSITIONS,
    project_check,
    project_create,
    project_transition,
    project_update,
    task_price,
)
from marketplace.services.rates import multiplier_set, tier_floor_set
from marketplace.services.work import (
    manual_entry_create,
    manual_entry_decide,
    membership_join,
    membership_leave,
    membership_pause,
    membership_resume,
    session_heartbeat,
    session_start,
    session_stop,
    sessions_close_idle,
)

__all__ = [
    "PROJECT_TRANSITIONS",
    "FairPayRow",
    "earning_adjust",
    "earning_for_source",
    "earning_from_session",
    "earning_record_review",
    "earning_record_task",
    "earning_reverse",
    "earning_write",
    "earnings_approve",
    "fair_pay_report",
    "fair_pay_top_up",
    "manual_entry_create",
    "manual_entry_decide",
    "membership_join",
    "membership_leave",
    "membership_pause",
    "membership_resume",
    "multiplier_set",
    "project_check",
    "project_create",
    "project_transition",
    "project_update",
    "session_heartbeat",
    "session_start",
    "session_stop",
    "sessions_close_idle",
    "task_price",
    "tier_floor_set",
]
