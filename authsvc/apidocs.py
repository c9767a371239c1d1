"""The API's documentation over HTTP: docs/openapi.yaml as JSON or YAML at /api/schema/,
and Swagger UI at /api/docs/ with its assets served by this service.

docs/openapi.yaml is the one source of truth: it also documents the plain Django views
(JWKS, probes, the Google redirects) that drf-spectacular's generator cannot see, and the
error answers of every endpoint. The generator only cross-checks it, in the tests.
"""

import json
from functools import cache

import yaml
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.renderers import JSONRenderer

from authsvc.errors import error_body
from authsvc.http import get_only

OPENAPI_PATH = settings.BASE_DIR / "docs" / "openapi.yaml"

YAML_TYPES = ("application/yaml", "application/vnd.oai.openapi")
JSON_TYPES = ("application/json", "application/vnd.oai.openapi+json")
FORMATS = {"json": "application/json", "yaml": "application/yaml"}


@cache
def openapi_yaml() -> bytes:
    """The document as written, read once per process."""
    return OPENAPI_PATH.read_bytes()


@cache
def openapi_json() -> bytes:
    return json.dumps(yaml.safe_load(openapi_yaml()), ensure_ascii=False).encode()


def _negotiated_type(request) -> str | None:
    fmt = request.GET.get("format")
    if fmt is not None:
        return FORMATS.get(fmt)
    # No Accept header counts as */*, which prefers the first type: JSON.
    preferred = request.get_preferred_type([*JSON_TYPES, *YAML_TYPES])
    if preferred is None:
        return None
    return "application/yaml" if preferred in YAML_TYPES else "application/json"


@get_only
def schema_view(request):
    content_type = _negotiated_type(request)
    if content_type is None:
        response = JsonResponse(error_body("not_acceptable"), status=406)
    elif content_type == "application/yaml":
        response = HttpResponse(openapi_yaml(), content_type="application/yaml")
    else:
        response = HttpResponse(openapi_json(), content_type="application/json")
    patch_vary_headers(response, ["Accept"])
    return response


class SwaggerUIView(SpectacularSwaggerSplitView):
    """Swagger UI on /api/schema/. The split variant loads its start-up script from this
    same URL (`?script`) instead of inlining it, so a `script-src 'self'` policy holds."""

    url_name = "api-schema"
    http_method_names = ["get", "head"]
    title = "authsvc API"

    def handle_exception(self, exc):
        # The page renders HTML, but failures are the contract's JSON like everywhere else.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)


swagger_ui_view = get_only(SwaggerUIView.as_view())
