"""Domain errors of accounts and applications."""

from common.errors import Conflict, DomainError, InvalidInput, PermissionDenied, TooManyRequests


class EmailAlreadyRegistered(InvalidInput):
    code = "email_taken"
    default_message = "An account with this e-mail address already exists. Log in instead."


class InvalidCredentials(InvalidInput):
    code = "invalid_credentials"
    default_message = "The e-mail address or password is not right."


class AccountSuspended(PermissionDenied):
    code = "account_suspended"
    default_message = (
        "This account is suspended, so it cannot log in or change anything. "
        "Write to support if you think this is a mistake."
    )


class EmailNotVerified(PermissionDenied):
    code = "email_not_verified"
    default_message = (
        "Verify your e-mail address before submitting your application: "
        "follow the link we sent you, or ask for a new one."
    )


class EmailAlreadyVerified(Conflict):
    code = "email_already_verified"
    default_message = "This e-mail address is already verified."


class VerificationLinkInvalid(DomainError):
    code = "verification_invalid"
    http_status = 400
    default_message = "This verification link is not valid. Ask for a new one."


class VerificationLinkExpired(VerificationLinkInvalid):
    code = "verification_expired"
    default_message = "This verification link has expired. Ask for a new one."


class ApplicationIncomplete(InvalidInput):
    code = "application_incomplete"
    default_message = "The application is not complete yet: fill in the fields named."


class InvalidStatusTransition(Conflict):
    code = "invalid_status_transition"


class TooManyAttempts(TooManyRequests):
    code = "too_many_attempts"
    default_message = "Too many attempts. Try again later."
