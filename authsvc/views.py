"""Liveness and readiness probes and the OpenAPI document: plain Django views, no
authentication, no DRF."""

from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpResponse, JsonResponse

from authsvc.apidocs import openapi_yaml
from authsvc.errors import error_body
from authsvc.http import get_only
from sessions_store.backends import get_session_store
from sessions_store.backends.base import SessionStoreUnavailable


def not_found(request):
    return JsonResponse(error_body("not_found"), status=404)


@get_only
def healthz(request):
    return JsonResponse({"status": "ok"})


@get_only
def readyz(request):
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except DatabaseError:
        checks["database"] = "unavailable"
    try:
        get_session_store().ping()
        checks["session_store"] = "ok"
    except SessionStoreUnavailable:
        checks["session_store"] = "unavailable"
    failing = [name for name, state in checks.items() if state != "ok"]
    if failing:
        detail = "Not ready: " + ", ".join(f"{name} unavailable" for name in failing) + "."
        return JsonResponse(error_body("not_ready", detail, checks=checks), status=503)
    return JsonResponse({"status": "ready", "checks": checks})


@get_only
def openapi_view(request):
    return HttpResponse(openapi_yaml(), content_type="application/yaml")
