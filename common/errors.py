"""Domain errors raised by services; the API and page layers turn them into answers.

Services never import DRF. Each error carries a stable machine `code`, a human message, and
optionally `fields`: messages keyed by the input field (dotted for nested input) they concern.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    code = "invalid"
    http_status = 400
    default_message = "The request could not be carried out."

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: Mapping[str, Sequence[str]] | None = None,
        code: str | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.fields = {name: list(messages) for name, messages in (fields or {}).items()}
        if code:
            self.code = code
        super().__init__(self.message)


class InvalidInput(DomainError):
    code = "invalid"
    http_status = 400
    default_message = "Invalid input."


class NotFound(DomainError):
    code = "not_found"
    http_status = 404
    default_message = "Not found."


class PermissionDenied(DomainError):
    code = "permission_denied"
    http_status = 403
    default_message = "You do not have permission to do this."


class Conflict(DomainError):
    code = "conflict"
    http_status = 409
    default_message = "The request conflicts with the current state."


class TooManyRequests(DomainError):
    """Refused by a rate limit; `retry_after` (seconds) becomes the Retry-After header."""

    code = "too_many_requests"
    http_status = 429
    default_message = "Too many requests. Try again later."

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: int | None = None,
        fields: Mapping[str, Sequence[str]] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, fields=fields, code=code)
        self.retry_after = retry_after
