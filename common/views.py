"""Assets the service draws from its packages at run time (nothing from a CDN), and the answers
to a URL that matches nothing and to a request Django cannot read."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from django.views.defaults import bad_request as bad_request_page
from django.views.defaults import page_not_found

from common.api.exception_handler import error_body
from common.markdown import highlight_css


@require_GET
@cache_control(max_age=86400, public=True)
def highlight_stylesheet(request: HttpRequest) -> HttpResponse:
    return HttpResponse(highlight_css(), content_type="text/css")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A URL no route matches (`/api/v1/runs/-1/`): under /api/ in the API's one error shape,
    which the schema promises for every 4xx; elsewhere the page."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(detail="Not found.", code="not_found"), status=404)
    return page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A request refused before any view reads it (more than DATA_UPLOAD_MAX_NUMBER_FIELDS
    form fields, a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a NUL character in a query or form
    field): under /api/ in the API's one error shape; elsewhere the page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body(
                detail=(
                    "The request could not be read: too large, too many fields, or text with"
                    " NUL characters."
                ),
                code="bad_request",
            ),
            status=400,
        )
    return bad_request_page(request, exception)
