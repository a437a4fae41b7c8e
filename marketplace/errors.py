"""Domain errors of the marketplace."""

from common.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class RateBelowFloor(InvalidInput):
    code = "rate_below_floor"


class InvalidProjectTransition(Conflict):
    code = "invalid_project_transition"


class ProjectNotFound(NotFound):
    code = "project_not_found"


class NotQualified(PermissionDenied):
    code = "not_qualified"


class ProjectFull(Conflict):
    code = "project_full"
    default_message = "This project is full: every seat is taken. Try again later."


class ProjectNotOpen(Conflict):
    code = "project_not_open"
    default_message = "This project is not taking work now."


class NotAMember(PermissionDenied):
    code = "not_a_member"
    default_message = "Join the project before you work on it."


class SessionOverlap(Conflict):
    code = "session_overlap"


class SessionClosed(Conflict):
    code = "session_closed"
    default_message = "This work session is already closed; start a new one."


class EntryNotPending(Conflict):
    code = "entry_not_pending"


class PeriodOpen(Conflict):
    code = "period_open"
    default_message = (
        "This pay period has not reached its cut-off yet; its batch is built after it."
    )


class PayoutStateConflict(Conflict):
    code = "payout_state"


class FourEyesRequired(Conflict):
    code = "four_eyes_required"
    default_message = (
        "This payout is at or above the four-eyes amount: a second, different finance admin must "
        "approve it."
    )


class OwnPayout(PermissionDenied):
    code = "own_payout"
    default_message = "Nobody approves or decides on their own payout."


class NothingToSend(Conflict):
    code = "nothing_to_send"
    default_message = "This batch has no approved payouts to send."


class ProviderFailed(Conflict):
    code = "provider_failed"
