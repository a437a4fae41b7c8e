"""What counts as an outage of a service a request depends on, and how the answer says so.

A request that PostgreSQL or Redis cannot serve (the server is down or restarting, or its
connection was cut mid-request) is answered 503 with a Retry-After header, not 500: the request
was fine, a retry a little later will most likely succeed, and a 500 would read as a bug of
ours. Nothing half-done stays behind: a service's transaction dies with its connection and
PostgreSQL rolls it back. Django drops a connection that failed (and checks a kept one before
reusing it, CONN_HEALTH_CHECKS), so the next request opens a new one and the service recovers
by itself.

- django.db.OperationalError and InterfaceError: the database is unreachable, a connection was
  terminated or closed under us. PostgreSQL's serialization failures, deadlocks and cancelled
  statements are OperationalErrors too, and a retry is the right answer to them as well.
- redis.exceptions.ConnectionError and TimeoutError: the cache (Django's Redis backend).
- kombu.exceptions.OperationalError: the Celery broker, when a job is queued.
"""

from __future__ import annotations

import logging
from typing import TypeGuard

import kombu.exceptions
import redis.exceptions
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest

logger = logging.getLogger(__name__)

OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)
# What a cache call raises when Redis is down or hung: for what only informs (an import's live
# progress), code catches these and goes on without the cache.
CACHE_DOWN: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
# Long enough for a restarting PostgreSQL or Redis to come back; short enough that a person
# retrying by hand is not kept waiting.
RETRY_AFTER_SECONDS = 10
MESSAGE = "The service is briefly unavailable. Please try again in a few seconds."


def is_outage(exception: BaseException | None) -> TypeGuard[BaseException]:
    return isinstance(exception, OUTAGE_ERRORS)


def outage_log(request: HttpRequest, exception: BaseException) -> None:
    """Log the outage with its traceback: which service failed shows in the exception. The
    view is named rather than the path, which may carry a token (e-mail verification)."""
    match = request.resolver_match
    logger.warning(
        "service.unavailable",
        exc_info=exception,
        extra={
            "view": match.view_name if match else "",
            "method": request.method,
            "error": f"{type(exception).__module__}.{type(exception).__name__}",
        },
    )
