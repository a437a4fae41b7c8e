"""URL root: pages at /, the admin at /admin/, the API at /api/v1/ with its schema and docs."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from common.views import highlight_stylesheet

handler400 = "common.views.bad_request"
handler404 = "common.views.not_found"
handler500 = "common.views.server_error"

admin.site.site_header = "EvalMarket administration"
admin.site.site_title = "EvalMarket admin"

api_v1 = [
    path("", include("contributors.api.urls")),
    path("", include("assessments.api.urls")),
    path("", include("marketplace.api.urls")),
    path("", include("evaluations.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file and our template its styles, so the
    # page keeps to the content security policy (no inline script or style).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="common/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("assets/highlight.css", highlight_stylesheet, name="highlight-css"),
    path("assessments/", include("assessments.urls")),
    path("", include("marketplace.urls")),
    path("work/", include("evaluations.urls")),
    path("", include("contributors.urls")),
]
