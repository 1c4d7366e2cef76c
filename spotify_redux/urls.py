from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.admin_login import admin_login
from core.metrics import metrics_view
from core.views import favicon

urlpatterns = [
    # The JSON API first: Django tries patterns in order, and no page shares a path with the API.
    path("", include("recommendations.urls")),
    path("", include("catalog.urls")),
    path("", include("likes.urls")),
    path("", include("accounts.urls")),
    # The web pages (HTML).
    path("", include("recommendations.page_urls")),
    path("", include("accounts.page_urls")),
    path("favicon.ico", favicon),
    # Before admin.site.urls, so this throttled view answers /admin/login/ (same URL, same name).
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    # GET only: the UI is an HTML template, and DRF's OPTIONS metadata answer has no template to render.
    path(
        "api/docs",
        SpectacularSwaggerView.as_view(url_name="schema", http_method_names=["get", "head"]),
        name="swagger-ui",
    ),
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
