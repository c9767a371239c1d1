"""The API's documentation over HTTP: the OpenAPI document as JSON or YAML at /api/schema/
(and as YAML at /openapi.yaml), and Swagger UI at /api/docs/ with its assets served by this
service.

The document is generated from the code by drf-spectacular (authsvc/schema/), once per
process. docs/openapi.yaml is the same bytes, written by `make schema` for readers of the
repository; a test proves the committed file is the generated one.
"""

import json
from functools import cache

import yaml
from django.http import HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.renderers import JSONRenderer

from authsvc.errors import error_body
from authsvc.http import get_only
from authsvc.schema import operation

YAML_TYPES = ("application/yaml", "application/vnd.oai.openapi")
JSON_TYPES = ("application/json", "application/vnd.oai.openapi+json")
FORMATS = {"json": "application/json", "yaml": "application/yaml"}


def openapi_generate() -> bytes:
    """The document, as `make schema` writes it (drf-spectacular's own YAML rendering)."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return OpenApiYamlRenderer().render(document, renderer_context={})


@cache
def openapi_yaml() -> bytes:
    """Generated on first use, then kept: the routes and views do not change at run time."""
    return openapi_generate()


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


@operation(
    tags=["operations"],
    operationId="apiSchema",
    summary="This document, as JSON or YAML",
    description="""\
JSON unless YAML is asked for, by `?format=yaml` or by an `Accept` header that
prefers `application/yaml` or `application/vnd.oai.openapi`. `?format=json` forces
JSON. Other methods than GET and HEAD answer `405 method_not_allowed`.
""",
    parameters=[
        {
            "name": "format",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": ["json", "yaml"]},
        }
    ],
    responses={
        "200": {
            "description": "The OpenAPI document.",
            "headers": {
                "Vary": {
                    "description": "`Accept`: the format follows it.",
                    "schema": {"type": "string"},
                }
            },
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "object"}},
            },
        },
        "406": {
            "description": (
                "`not_acceptable`: an unknown `format`, or an `Accept` header that excludes "
                "JSON and YAML."
            ),
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"},
                    "example": error_body("not_acceptable"),
                }
            },
        },
    },
)
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


swagger_ui_view = operation(
    tags=["operations"],
    operationId="apiDocs",
    summary="Swagger UI for this document",
    description="""\
A page for browsers. Its scripts and styles are served by this service under
`/static/` (no CDN); its start-up script is `GET /api/docs/?script`, so a
`script-src 'self'` policy holds. "Try it out" sends the browser's cookies. Other
methods than GET and HEAD answer `405 method_not_allowed`.
""",
    parameters=[
        {
            "name": "script",
            "in": "query",
            "required": False,
            "description": (
                "Present (any value) to get the page's start-up script instead of the page."
            ),
            "schema": {"type": "string"},
        }
    ],
    responses={
        "200": {
            "description": "The page, or with `script` its start-up script.",
            "content": {
                "text/html": {"schema": {"type": "string"}},
                "application/javascript": {"schema": {"type": "string"}},
            },
        }
    },
)(get_only(SwaggerUIView.as_view()))
