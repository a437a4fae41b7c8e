"""Assets the service draws from its packages at run time (nothing from a CDN)."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from common.markdown import highlight_css


@require_GET
@cache_control(max_age=86400, public=True)
def highlight_stylesheet(request: HttpRequest) -> HttpResponse:
    return HttpResponse(highlight_css(), content_type="text/css")
