"""The OpenAPI document is generated from the code (authsvc/schema/, the views'
`@extend_schema`, the plain views' `@operation`); docs/openapi.yaml is that document as
`make schema` writes it.

These tests keep the generation honest: no view the generator has to guess about, the
committed file the generated one, the failures the base classes produce documented on
every operation they apply to, and every registered error code documented somewhere.
"""

import re

import pytest
import yaml
from django.conf import settings
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from authsvc.apidocs import openapi_generate
from authsvc.errors import ERROR_CODES

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
WRITES = {"put", "post", "delete", "patch"}
ON_DISK = settings.BASE_DIR / "docs" / "openapi.yaml"


@pytest.fixture(scope="module")
def generated() -> dict:
    GENERATOR_STATS.reset()
    SchemaGenerator().get_schema(request=None, public=True)
    # Errors or warnings would mean views the generator had to guess about.
    assert not GENERATOR_STATS._error_cache, GENERATOR_STATS._error_cache
    assert not GENERATOR_STATS._warn_cache, GENERATOR_STATS._warn_cache
    return yaml.safe_load(openapi_generate())


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def _resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_the_committed_document_is_the_generated_one():
    assert ON_DISK.read_bytes() == openapi_generate(), "docs/openapi.yaml is stale: run make schema"


def test_the_document_is_openapi_3_1_with_the_plain_views(generated):
    assert generated["openapi"] == "3.1.0"
    found = {(path, method) for path, method, _ in _operations(generated)}
    assert ("/auth/login/", "post") in found  # a DRF view
    assert ("/auth/sessions/{session_id}/", "delete") in found  # a viewset's route
    assert ("/auth/logout-all/", "post") in found  # a viewset's action routed by hand
    assert ("/.well-known/jwks.json", "get") in found  # a plain Django view
    assert ("/auth/google/callback/", "get") in found


def test_every_operation_has_an_id_a_summary_and_a_tag(generated):
    tags = {tag["name"] for tag in generated["tags"]}
    ids = [operation["operationId"] for _, _, operation in _operations(generated)]

    assert len(ids) == len(set(ids))
    for path, method, operation in _operations(generated):
        assert operation.get("summary"), (method, path)
        assert len(operation.get("tags", [])) == 1, (method, path)
        assert set(operation["tags"]) <= tags, (method, path)


SERVICE_SCHEMES = {"clientBasic", "serviceBearer"}


def _service_door(operation) -> bool:
    """Authenticated by a service client only (tokens.service_auth): no cookie, no CSRF."""
    names = {name for requirement in operation.get("security", []) for name in requirement}
    return bool(names) and names <= SERVICE_SCHEMES


def test_every_write_documents_csrf_and_form_bodies(generated):
    for path, method, operation in _operations(generated):
        if method in WRITES and path.startswith("/auth/") and not _service_door(operation):
            responses = operation["responses"]
            assert {"403", "415"} <= set(responses), (method, path)
            forbidden = _resolve(generated, responses["403"])
            assert "csrf_failed" in yaml.safe_dump(forbidden), (method, path)


def test_every_body_documents_validation_and_the_size_bound(generated):
    for path, method, operation in _operations(generated):
        if "requestBody" in operation:
            # The token endpoint answers an oversized body 400 `invalid_request` (RFC 6749).
            expected = {"400"} if path == "/auth/token/" else {"400", "413"}
            assert expected <= set(operation["responses"]), (method, path)


def test_every_operation_behind_a_token_documents_the_401(generated):
    for path, method, operation in _operations(generated):
        schemes = {name for requirement in operation.get("security", []) for name in requirement}
        if "bearerAuth" in schemes and path != "/auth/logout/":
            assert "401" in operation["responses"], (method, path)


def test_every_error_answer_is_the_envelope(generated):
    for path, method, operation in _operations(generated):
        for code, response in operation["responses"].items():
            if int(code) < 400:
                continue
            schema = _resolve(generated, response)["content"]["application/json"]["schema"]
            if path == "/auth/token/":
                # OAuth 2.0's token endpoint: RFC 6749 §5.2's error body.
                assert schema["required"] == ["error", "error_description"], (path, code)
                continue
            refs = [schema, *schema.get("allOf", [])]
            assert {"$ref": "#/components/schemas/Error"} in refs, (method, path, code)


def test_error_codes_are_the_registry(generated):
    documented = generated["components"]["schemas"]["ErrorCode"]["enum"]

    assert sorted(documented) == sorted(ERROR_CODES)


def test_every_error_code_is_documented_where_it_is_answered(generated):
    """A code the registry has but no operation (or the document's generic failures)
    names, in an example or a description, is a failure nobody was told about."""
    text = yaml.safe_dump(generated["paths"]) + generated["info"]["description"]
    text += yaml.safe_dump(generated["components"]["responses"])
    named = set(re.findall(r"`(?:\d{3} )?(\w+)`", text)) | set(re.findall(r"error: (\w+)", text))

    assert sorted(set(ERROR_CODES) - named) == []


def test_every_answer_documents_the_request_id_header(generated):
    header = generated["components"]["headers"]["X-Request-ID"]
    assert re.fullmatch(header["schema"]["pattern"], "0123456789abcdef" * 2)
    for path, method, operation in _operations(generated):
        for status, answer in operation["responses"].items():
            headers = _resolve(generated, answer).get("headers", {})
            assert "X-Request-ID" in headers, (path, method, status)
