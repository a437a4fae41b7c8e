"""Pages answer a domain error the way the API does: with its status and its message."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from common.errors import DomainError


class DomainErrorMiddleware:
    """Turn a DomainError that escapes a page view into a page with the right status.

    API views never get here: DRF handles their errors (common.api.exception_handler).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        return render(request, "error.html", {"error": exception}, status=exception.http_status)
