"""Domain errors of evaluation work."""

from common.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class FormInvalidError(InvalidInput):
    code = "form_invalid"


class NoForm(Conflict):
    code = "no_form"
    default_message = "This project has no evaluation form yet."


class NoTaskAvailable(NotFound):
    code = "no_task_available"
    default_message = "There is no task for you on this project right now."


class CapReached(Conflict):
    code = "cap_reached"


class NotWorking(PermissionDenied):
    code = "not_working_here"
    default_message = "Join the project before you take its tasks."


class AssignmentClosed(Conflict):
    code = "assignment_closed"


class LeaseExpired(Conflict):
    code = "lease_expired"
    default_message = (
        "Your time on this task ran out, so it went back to the pool; take the next task."
    )


class ReviewStarted(Conflict):
    code = "review_started"
    default_message = "Review of this submission has started; it can no longer be edited."


class ImportInvalid(InvalidInput):
    code = "import_invalid"


class Paused(PermissionDenied):
    code = "paused_here"
    default_message = "Your work on this project is paused while your quality is looked at."


class NotReviewer(PermissionDenied):
    code = "not_a_reviewer"


class OwnWork(PermissionDenied):
    code = "own_work"
    default_message = "You cannot review your own work, or a task you worked on."


class ReviewClosed(Conflict):
    code = "review_closed"


class NoReviewAvailable(NotFound):
    code = "no_review_available"
    default_message = "There is nothing for you to review right now."


class AppealRefused(Conflict):
    code = "appeal_refused"


class NoMethod(InvalidInput):
    code = "no_such_method"
