"""OpenAPI pieces shared by every app's API."""

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
