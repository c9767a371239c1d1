"""Schemathesis fuzzes every documented operation in-process against the live schema.

The schema is what /api/schema/ serves; requests go through the whole WSGI stack
(middleware, CSRF, authentication) on the test database and Redis. Each generated request
carries a fresh session of a real user (both auth cookies) and a valid CSRF pair, so the
fuzzer gets past authentication and CSRF and exercises validation and the services.

For every response: no 5xx, a documented status code, content type, headers and body, and
every error (4xx) is the contract's JSON `{"error": <known code>, "detail": ...}` (RFC 6749's
`error_description` instead of `detail` at the token endpoint). The
budget is fixed and the generation deterministic, so a failure reproduces.
"""

import json

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from authsvc.errors import ERROR_CODES
from authsvc.http import ClientInfo
from tokens.services import session_start

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

# Examples per operation (and generation mode); about 30 operations.
MAX_EXAMPLES = 25

schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())
schema.config.generation.update(
    deterministic=True,
    database="none",
    max_examples=MAX_EXAMPLES,
    # The credentials are ours (below), so the fuzzer spends its budget on the requests.
    with_security_parameters=False,
)


def json_errors(ctx, response, case):
    """Every error is JSON with a registered code: no HTML page, no stack trace."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.split(";")[0] == "application/json", (
        f"{response.status_code} answered as {content_type!r}: {response.text[:200]!r}"
    )
    body = json.loads(response.content)
    assert isinstance(body, dict), body
    assert body.get("error") in ERROR_CODES, body
    # The OAuth 2.0 token endpoint answers in RFC 6749 §5.2's shape instead.
    message = "error_description" if case.path == "/auth/token/" else "detail"
    assert isinstance(body.get(message), str), body
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    json_errors,
]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Like Django's test client: the end of a request must not close the connection that
    holds the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def signed_in(make_user):
    """A function that starts a new session for the fuzzing user: cookies and headers."""
    user = make_user(email="fuzz@example.com", name="Fuzz")
    client = ClientInfo(ip="127.0.0.1", user_agent="schemathesis")

    def credentials() -> tuple[dict[str, str], dict[str, str]]:
        # A new session per request: the fuzzer logs out, revokes and rotates along the way.
        issued = session_start(user=user, client=client, amr=["pwd"])
        csrf = get_random_string(32)
        cookies = {
            "access_token": issued.access_token,
            "refresh_token": issued.refresh_token,
            "csrftoken": csrf,
        }
        return cookies, {"X-CSRFToken": csrf}

    return credentials


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_as_documented(case, signed_in):
    cookies, headers = signed_in()
    response = case.call(cookies=cookies, headers=headers)
    case.validate_response(response, checks=CHECKS)
