from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from authsvc import apidocs, views
from tokens.views import jwks_view

urlpatterns = [
    path("auth/", include("accounts.urls")),
    path("auth/", include("tokens.urls")),
    path("auth/", include("sessions_store.urls")),
    path("auth/", include("accounts.urls_admin")),
    path(".well-known/jwks.json", jwks_view, name="jwks"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics_view, name="metrics"),
    path("openapi.yaml", views.openapi_view, name="openapi"),
    path("api/schema/", apidocs.schema_view, name="api-schema"),
    path("api/docs/", apidocs.swagger_ui_view, name="api-docs"),
    path("admin/", admin.site.urls),
]

if settings.AUTHSVC_BENCH:
    from authsvc import bench_views

    urlpatterns += [
        path("bench/json", bench_views.json_floor, name="bench-json"),
        path("bench/drf", bench_views.DrfFloor.as_view(), name="bench-drf"),
        path("bench/least/login", bench_views.LeastLogin.as_view(), name="bench-least-login"),
        path("bench/least/self", bench_views.LeastSelf.as_view(), name="bench-least-self"),
        path("bench/least/refresh", bench_views.LeastRefresh.as_view(), name="bench-least-refresh"),
    ]

urlpatterns += [
    # The pages for people (pages/urls.py): HTML, in their own namespace.
    path("", include("pages.urls")),
    # Everything else is a JSON 404, in debug too: API clients never get an HTML page.
    re_path(r"^(?!admin/)", views.not_found, name="not-found"),
]

handler400 = "authsvc.errors.bad_request"
handler403 = "authsvc.errors.permission_denied"
handler404 = "authsvc.errors.page_not_found"
handler500 = "authsvc.errors.server_error"
