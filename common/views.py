"""Assets the service draws from its packages at run time (nothing from a CDN), and the answer
to a URL that matches nothing."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
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
