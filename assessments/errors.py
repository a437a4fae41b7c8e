"""Domain errors of assessments and attempts."""

from common.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied


class ContentInvalid(DomainError):
    code = "content_invalid"

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "Assessment content is invalid; nothing was loaded:\n" + "\n".join(problems)
        )


class AssessmentNotFound(NotFound):
    code = "assessment_not_found"


class NotEligible(PermissionDenied):
    """The person may not start this assessment now; the message says why."""

    code = "not_eligible"


class StarterAlreadyTaken(Conflict):
    code = "starter_already_taken"
    default_message = (
        "The Starter Assessment can be taken only once, and you have already started it."
    )


class AttemptInProgress(Conflict):
    code = "attempt_in_progress"

    def __init__(self, attempt_id: int) -> None:
        self.attempt_id = attempt_id
        super().__init__(
            f"You already have an attempt in progress (attempt {attempt_id}); resume it."
        )


class AttemptClosed(Conflict):
    code = "attempt_closed"
    default_message = "This attempt is already submitted; answers can no longer change."


class DeadlinePassed(Conflict):
    code = "deadline_passed"
    default_message = (
        "The time for this attempt is over; answers sent after the deadline are refused."
    )


class QuestionNotInAttempt(NotFound):
    code = "question_not_in_attempt"
    default_message = "That question is not part of this attempt."


class InvalidAnswer(InvalidInput):
    code = "invalid_answer"


class GradingNotAllowed(PermissionDenied):
    code = "grading_not_allowed"


class GradingTaskClosed(Conflict):
    code = "grading_task_closed"
    default_message = "This grading task is already done."
