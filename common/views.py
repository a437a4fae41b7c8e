"""Assets the service draws from its packages at run time (nothing from a CDN), and the answers
to a URL that matches nothing, to a request Django cannot read, and to one that PostgreSQL or
Redis could not serve."""

import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from django.views.defaults import bad_request as bad_request_page
from django.views.defaults import page_not_found
from django.views.defaults import server_error as server_error_page

from common.api.exception_handler import error_body, service_unavailable_body
from common.markdown import highlight_css
from common.outages import RETRY_AFTER_SECONDS, is_outage


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


def service_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: under /api/ in the API's one error shape; elsewhere a page drawn
    without the request's context, so that it needs neither the database (the logged-in user,
    the session) nor the cache."""
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(service_unavailable_body(), status=503)
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """An exception no view or middleware handled: 503 when PostgreSQL or Redis could not serve
    the request (raised in a middleware, say a session saved on the way out, where
    common.middleware.OutageMiddleware does not see it), Django's 500 page otherwise. Django
    logs the answer with the exception's traceback."""
    if is_outage(sys.exc_info()[1]):
        return service_unavailable(request)
    return server_error_page(request)
