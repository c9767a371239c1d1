"""drf-spectacular's generator cross-checks the hand-written docs/openapi.yaml.

The generator sees only the DRF views, and their request bodies through the serializers
named in `@extend_schema(request=...)`. Every operation it finds must be documented, and
every documented request body must have the serializer's writable fields, with the same
required ones and length bounds, so a field added to a serializer cannot go undocumented.
"""

import pytest
import yaml
from django.conf import settings
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


def _resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _request_schema(document: dict, operation: dict) -> dict | None:
    body = operation.get("requestBody")
    if body is None:
        return None
    return _resolve(document, _resolve(document, body)["content"]["application/json"]["schema"])


@pytest.fixture(scope="module")
def generated() -> dict:
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    # Errors would mean views the generator had to guess about, i.e. an unchecked body.
    assert not GENERATOR_STATS._error_cache, GENERATOR_STATS._error_cache
    assert not GENERATOR_STATS._warn_cache, GENERATOR_STATS._warn_cache
    return schema


@pytest.fixture(scope="module")
def documented() -> dict:
    return yaml.safe_load((settings.BASE_DIR / "docs" / "openapi.yaml").read_bytes())


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def test_the_generator_finds_the_drf_views(generated):
    found = {(path, method) for path, method, _ in _operations(generated)}

    assert ("/auth/login/", "post") in found
    assert ("/auth/sessions/{session_id}/", "delete") in found


def test_every_generated_operation_is_documented(generated, documented):
    found = {(path, method) for path, method, _ in _operations(generated)}
    known = {(path, method) for path, method, _ in _operations(documented)}

    assert sorted(found - known) == []


def test_request_bodies_are_the_serializers_writable_fields(generated, documented):
    mismatches = {}
    for path, method, operation in _operations(generated):
        if method not in {"post", "patch", "put"}:
            continue
        ours = documented["paths"][path][method]
        theirs = _request_schema(generated, operation)
        mine = _request_schema(documented, ours)
        if theirs is None or mine is None:
            if (theirs is None) != (mine is None):
                mismatches[f"{method.upper()} {path}"] = {"serializer": theirs, "documented": mine}
            continue
        fields = set(theirs.get("properties", {}))
        props = set(mine.get("properties", {}))
        problem = {}
        if fields != props:
            problem["fields"] = {"serializer": sorted(fields), "documented": sorted(props)}
        if method == "post" and set(theirs.get("required", [])) != set(mine.get("required", [])):
            problem["required"] = {
                "serializer": sorted(theirs.get("required", [])),
                "documented": sorted(mine.get("required", [])),
            }
        for name in fields & props:
            bound = theirs["properties"][name].get("maxLength")
            doc_bound = _resolve(documented, mine["properties"][name]).get("maxLength")
            if bound != doc_bound:
                problem[f"{name}.maxLength"] = {"serializer": bound, "documented": doc_bound}
        if problem:
            mismatches[f"{method.upper()} {path}"] = problem

    assert mismatches == {}
