"""The plain Django views (JWKS, probes, Google's redirects, the document itself):
their `@operation`, and the hook that adds them."""

import re

from django.urls import URLPattern, URLResolver, get_resolver

from authsvc.errors import ERROR_CODES
from authsvc.schema.document import INFO, SECURITY_SCHEMES, TAGS
from authsvc.schema.responses import REQUEST_ID, UNAVAILABLE

# --- The plain Django views -----------------------------------------------------------------


def operation(**spec):
    """Document a plain Django view (not DRF) as the GET operation of its route."""

    def decorate(view):
        view.openapi_operation = spec
        return view

    return decorate


ERROR_REF = {"$ref": "#/components/schemas/Error"}
REQUEST_ID_REF = {"$ref": "#/components/headers/X-Request-ID"}


def error_content(example_code: str | None = None, schema=None) -> dict:
    """A JSON error body for a plain view's operation."""
    media = {"schema": schema or ERROR_REF}
    if example_code:
        media["example"] = {"error": example_code, "detail": ERROR_CODES[example_code]}
    return {"application/json": media}


def openapi_path(pattern) -> str:
    """`users/<uuid:user_id>/` as OpenAPI writes it: `users/{user_id}/`."""
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern))


def _plain_routes(patterns=None, prefix="/"):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern) != "admin/":
                yield from _plain_routes(entry.url_patterns, prefix + openapi_path(entry.pattern))
        elif isinstance(entry, URLPattern) and hasattr(entry.callback, "openapi_operation"):
            yield prefix + openapi_path(entry.pattern), entry.callback.openapi_operation


def postprocess(result, generator, request, public):
    """The document's text, the plain views' operations, the shared components."""
    for path, spec in _plain_routes():
        result["paths"].setdefault(path, {})["get"] = spec
    components = result.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    responses = components.setdefault("responses", {})
    responses.setdefault(UNAVAILABLE.name, _unavailable_component(components))
    components.setdefault("headers", {})["X-Request-ID"] = REQUEST_ID
    answers = [
        answer
        for item in result["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for answer in operation.get("responses", {}).values()
    ]
    for answer in [*answers, *responses.values()]:
        # A `$ref` answer gets it from the component it names.
        if "$ref" not in answer:
            answer["headers"] = {**answer.get("headers", {}), "X-Request-ID": REQUEST_ID_REF}
    return {
        "openapi": result["openapi"],
        "info": INFO,
        "servers": [{"url": "/"}],
        "tags": TAGS,
        "security": [],
        "paths": result["paths"],
        "components": components,
    }


def _unavailable_component(components) -> dict:
    return {
        "description": UNAVAILABLE.description,
        "headers": UNAVAILABLE.headers,
        "content": error_content("unavailable"),
    }
