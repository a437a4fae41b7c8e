"""One error shape for every 4xx: {"detail": str, "code": str, "fields": {field: [messages]}}.

Nested input errors are flattened to dotted paths (`degrees.0.field`), so a client can put each
message beside the field it concerns without walking DRF's nested structure. A request that
PostgreSQL or Redis could not serve is answered 503 in the same shape, with Retry-After
(common.outages).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.fields import get_error_detail
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from common.errors import DomainError, TooManyRequests
from common.outages import MESSAGE, RETRY_AFTER_SECONDS, is_outage, outage_log

NON_FIELD = "non_field_errors"


def error_body(
    *, detail: str, code: str, fields: Mapping[str, list[str]] | None = None
) -> dict[str, Any]:
    return {"detail": detail, "code": code, "fields": dict(fields or {})}


def service_unavailable_body() -> dict[str, Any]:
    return error_body(detail=MESSAGE, code="service_unavailable")


def flatten_errors(data: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error data into {dotted.path: [messages]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(data, Mapping):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == NON_FIELD and prefix:
                path = prefix
            for sub_path, messages in flatten_errors(value, path).items():
                flat.setdefault(sub_path, []).extend(messages)
    elif isinstance(data, list | tuple):
        if all(not isinstance(item, Mapping | list | tuple) for item in data):
            flat[prefix or NON_FIELD] = [str(item) for item in data]
        else:
            for index, item in enumerate(data):
                if item:
                    flat.update(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        flat[prefix or NON_FIELD] = [str(data)]
    return flat


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        headers = (
            {"Retry-After": str(exc.retry_after)}
            if isinstance(exc, TooManyRequests) and exc.retry_after
            else None
        )
        return Response(
            error_body(detail=exc.message, code=exc.code, fields=exc.fields),
            status=exc.http_status,
            headers=headers,
        )
    if is_outage(exc):
        outage_log(context["request"], exc)
        return Response(
            service_unavailable_body(),
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=get_error_detail(exc))

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API error: Django answers 500 and logs it

    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(response.data)
        general = fields.pop(NON_FIELD, [])
        if general and not fields:
            detail = " ".join(general)
        else:
            detail = "Invalid input: " + ", ".join(sorted(fields)) if fields else "Invalid input."
            if general:
                fields[NON_FIELD] = general
        response.data = error_body(detail=detail, code="invalid", fields=fields)
        return response

    assert isinstance(exc, exceptions.APIException)
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else "error"
    detail = response.data.get("detail", str(exc)) if isinstance(response.data, dict) else str(exc)
    response.data = error_body(detail=str(detail), code=code)
    return response
