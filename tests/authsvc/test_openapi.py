"""The generated document is served (and is docs/openapi.yaml), and documents every route the
project has, with its methods.

The routes come from the URL resolver, so an endpoint added without documentation (or
documentation left behind by a removed one) fails here.
"""

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from authsvc import views
from authsvc.errors import ERROR_CODES

HTTP_METHODS = {"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}
# Answered implicitly wherever GET is (HEAD) or everywhere (OPTIONS); not documented.
IMPLICIT_METHODS = {"HEAD", "OPTIONS"}
# No endpoint uses it, so a view that restricts its methods answers it with 405 and `Allow`.
PROBE_METHOD = "PROPFIND"
SKIPPED_PREFIXES = {"admin/"}
# The pages for people (pages/urls.py) answer HTML to a browser, not the API: the contract
# lists them in prose ("Pages served by authsvc"), the OpenAPI document does not.
SKIPPED_NAMESPACES = {"pages"}


def openapi_path(pattern) -> str:
    if not isinstance(pattern, RoutePattern):
        raise AssertionError(f"{pattern} is a regex route; use path() so it can be documented")
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern))


def project_routes(patterns=None, prefix="/"):
    """(OpenAPI path, URLPattern) for every route but the admin, the pages and the
    catch-all 404."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern) in SKIPPED_PREFIXES or entry.namespace in SKIPPED_NAMESPACES:
                continue
            yield from project_routes(entry.url_patterns, prefix + openapi_path(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.callback is views.not_found:
            continue
        else:
            yield prefix + openapi_path(entry.pattern), entry


def view_methods(path: str, entry: URLPattern) -> set[str]:
    callback = entry.callback
    view_class = getattr(callback, "view_class", None)
    actions = getattr(callback, "actions", None)
    if actions is not None:
        # A viewset's route: the methods it was bound to (`as_view({"get": "list"})`).
        allowed = actions
    elif view_class is not None:
        allowed = view_class(**callback.view_initkwargs)._allowed_methods()
    else:
        request = RequestFactory().generic(PROBE_METHOD, path)
        response = callback(request, **dict.fromkeys(entry.pattern.converters))
        if response.status_code != 405:
            # A plain function view that answers every method (the probes) is documented as
            # GET, the method it exists for.
            return {"GET"}
        allowed = response["Allow"].split(",")
    return {method.strip().upper() for method in allowed} - IMPLICIT_METHODS


@pytest.fixture
def document(client):
    response = client.get("/openapi.yaml")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_document_is_served_as_yaml(client):
    response = client.get("/openapi.yaml")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml"
    on_disk = (Path(settings.BASE_DIR) / "docs" / "openapi.yaml").read_bytes()
    assert response.content == on_disk
    assert yaml.safe_load(response.content)["openapi"].startswith("3.1.")


def test_other_methods_are_a_json_405(client):
    response = client.post("/openapi.yaml")

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.django_db  # probing a plain view runs it, and /readyz asks the database
def test_every_route_is_documented_with_the_methods_its_view_allows(document):
    served = {path: view_methods(path, entry) for path, entry in project_routes()}
    documented = {
        path: {method.upper() for method in item if method.upper() in HTTP_METHODS}
        - IMPLICIT_METHODS
        for path, item in document["paths"].items()
    }

    assert "/auth/login/" in served  # the walk found the included apps
    undocumented = sorted(set(served) - set(documented))
    assert not undocumented, f"routes missing from docs/openapi.yaml: {undocumented}"
    stale = sorted(set(documented) - set(served))
    assert not stale, f"docs/openapi.yaml documents routes that do not exist: {stale}"
    wrong = {
        path: {"view allows": sorted(served[path]), "documented": sorted(documented[path])}
        for path in served
        if served[path] != documented[path]
    }
    assert not wrong, f"documented methods differ from the views': {wrong}"


def test_error_codes_are_the_registry(document):
    documented = document["components"]["schemas"]["ErrorCode"]["enum"]

    assert sorted(documented) == sorted(ERROR_CODES)
