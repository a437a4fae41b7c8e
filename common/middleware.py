"""Pages answer a domain error the way the API does, and an outage of PostgreSQL or Redis with
503; every answer carries the security policy."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from common.errors import DomainError
from common.outages import is_outage, outage_log
from common.views import bad_request, service_unavailable


def content_security_policy(directives: dict[str, list[str] | bool]) -> str:
    """Write a policy from {directive: [sources]}; True stands for a directive without sources."""
    parts = []
    for directive, sources in directives.items():
        if sources is True:
            parts.append(directive)
        elif sources:
            parts.append(f"{directive} {' '.join(sources)}")
    return "; ".join(parts)


class ContentSecurityPolicyMiddleware:
    """Send settings.SECURE_CSP as the Content-Security-Policy of every answer that has none.

    A view that serves something else than our pages (an SVG chart) sets its own, stricter one,
    which is kept. Django 6.0 brings django.middleware.csp with the same setting; on that upgrade
    this class goes and the setting stays.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = content_security_policy(getattr(settings, "SECURE_CSP", {}))
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


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


class OutageMiddleware:
    """Answer 503 with Retry-After, not 500, when a view fails because PostgreSQL or Redis could
    not serve it (common.outages says which errors those are).

    API views never get here (common.api.exception_handler answers for them); an error raised by
    a middleware instead of a view reaches the 500 handler, common.views.server_error, which
    answers the same.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_outage(exception):
            return None
        outage_log(request, exception)
        return service_unavailable(request)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class NulInputMiddleware:
    """Refuse with 400 a request whose query string or form fields carry a NUL character.

    PostgreSQL can neither store one in text or jsonb nor compare against one, so a NUL that
    reaches a lookup or a save is a 500; Django's and DRF's form fields refuse it, but views
    that read request.GET or request.POST directly would not. Uploaded files keep their bytes.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fields = request.GET.lists()
        if request.method == "POST" and request.content_type in FORM_TYPES:
            fields = (*fields, *request.POST.lists())
        if any("\x00" in name or any("\x00" in v for v in values) for name, values in fields):
            return bad_request(request, SuspiciousOperation("A NUL character in a field."))
        return self.get_response(request)
