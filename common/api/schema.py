"""OpenAPI pieces shared by every app's API."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorOutput(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, for a person to read.")
    code = serializers.CharField(help_text="A stable machine-readable code, e.g. `invalid`.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per input field; nested fields use dotted paths (`degrees.0.field`).",
    )


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """Declare the error answers of a view, all in the one error shape."""
    descriptions = {
        400: "Invalid input; `fields` names each bad field.",
        401: "Not logged in.",
        403: "Not allowed.",
        404: "No such object, or not yours.",
        409: "Conflicts with the object's current state.",
        429: "Too many attempts; the Retry-After header says how many seconds to wait.",
    }
    return {
        status: OpenApiResponse(ErrorOutput, description=descriptions[status])
        for status in statuses
    }


def document_refusals_before_the_view(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Declare, in the one error shape, the answers any operation can give whatever its view
    does: 400 for a request Django cannot read (too large, too many fields, a NUL character in
    a query or form field: common.views.bad_request), 415 from DRF for a body of a media type
    the operation does not read, and 503 with Retry-After when PostgreSQL or Redis could not
    serve the request (common.outages)."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOutput"}}}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["responses"].setdefault(
                "400",
                {
                    "content": error,
                    "description": "The request could not be read: too large, too many "
                    "fields, or text with NUL characters.",
                },
            )
            operation["responses"].setdefault(
                "503",
                {
                    "content": error,
                    "headers": {
                        "Retry-After": {
                            "schema": {"type": "integer"},
                            "description": "Seconds to wait before trying again.",
                        }
                    },
                    "description": "The database or Redis could not serve the request (down, "
                    "restarting, or the connection was cut); try again after Retry-After "
                    "seconds.",
                },
            )
            if "requestBody" in operation:
                operation["responses"].setdefault(
                    "415",
                    {
                        "content": error,
                        "description": "The body is not of a media type this operation reads.",
                    },
                )
    return result
