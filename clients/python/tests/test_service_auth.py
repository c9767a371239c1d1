"""ServiceAuthClient against a stand-in token endpoint: the request it sends, its cache per
(scope, audience), renewal before expiry, one request for many threads, and errors."""

import base64
import threading
import time

import pytest
from conftest import dead_url

from authsvc_verifier import AuthsvcUnavailable, ServiceAuthClient, ServiceAuthError


class Clock:
    def __init__(self):
        self.now = time.time()

    def __call__(self):
        return self.now


def issuing(authsvc, expires_in=300):
    issued = []

    def token(form, headers):
        issued.append(form)
        return 200, {
            "access_token": f"token-{len(issued)}", "token_type": "Bearer",
            "expires_in": expires_in, "scope": form.get("scope", "all"),
        }

    authsvc.token = token
    return issued


def test_client_credentials_by_http_basic(authsvc):
    issued = issuing(authsvc)
    client = ServiceAuthClient(authsvc.base, "svc_billing", "top secret")
    assert client.headers(scope=["orders:read", "introspect"], audience="orders") == {
        "Authorization": "Bearer token-1"
    }
    path, form, headers = authsvc.requests[0]
    assert path == "/auth/token/"
    assert form == {
        "grant_type": "client_credentials", "scope": "introspect orders:read", "audience": "orders"
    }
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert base64.b64decode(headers["Authorization"].split()[1]) == b"svc_billing:top+secret"
    assert issued == [form]


def test_cached_per_scope_and_audience_until_shortly_before_expiry(authsvc):
    issuing(authsvc, expires_in=300)
    clock = Clock()
    client = ServiceAuthClient(authsvc.base, "svc", "secret", refresh_margin=30, clock=clock)
    assert client.token(scope="a b", audience="orders") == "token-1"
    assert client.token(scope="b a", audience="orders") == "token-1"  # the same scope set
    assert client.token(scope="a", audience="orders") == "token-2"
    assert client.token(scope="a b", audience="billing") == "token-3"
    assert client.token() == "token-4"  # every allowed scope, authsvc's own audience
    clock.now += 269
    assert client.token(scope="a b", audience="orders") == "token-1"
    clock.now += 2  # within the margin of expiry
    assert client.token(scope="a b", audience="orders") == "token-5"
    client.invalidate(scope="a b", audience="orders")
    assert client.token(scope="a b", audience="orders") == "token-6"


def test_a_requests_style_auth(authsvc):
    issuing(authsvc)

    class Prepared:
        headers: dict

    request = Prepared()
    request.headers = {}
    auth = ServiceAuthClient(authsvc.base, "svc", "secret").auth(scope="x", audience="orders")
    assert auth(request) is request
    assert request.headers == {"Authorization": "Bearer token-1"}


def test_concurrent_callers_share_one_request(authsvc):
    issued = issuing(authsvc)
    slow = authsvc.token

    def slow_token(form, headers):
        time.sleep(0.2)
        return slow(form, headers)

    authsvc.token = slow_token
    client = ServiceAuthClient(authsvc.base, "svc", "secret")
    barrier, results = threading.Barrier(10), []

    def worker():
        barrier.wait()
        results.append(client.token(scope="x"))

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["token-1"] * 10
    assert len(issued) == 1


def test_refusals_carry_the_oauth_error(authsvc):
    authsvc.token = lambda form, headers: (
        401, {"error": "invalid_client", "error_description": "Client authentication failed."}
    )
    with pytest.raises(ServiceAuthError) as refused:
        ServiceAuthClient(authsvc.base, "svc", "wrong").token()
    assert (refused.value.code, refused.value.status) == ("invalid_client", 401)
    authsvc.token = lambda form, headers: (400, {"error": "invalid_scope"})
    with pytest.raises(ServiceAuthError) as refused:
        ServiceAuthClient(authsvc.base, "svc", "secret").token(scope="admin")
    assert (refused.value.code, refused.value.status) == ("invalid_scope", 400)


def test_an_unreachable_or_failing_endpoint_is_unavailable(authsvc):
    with pytest.raises(AuthsvcUnavailable):
        ServiceAuthClient(dead_url(), "svc", "secret").token()
    authsvc.token = lambda form, headers: (503, {"error": "unavailable"})
    with pytest.raises(AuthsvcUnavailable):
        ServiceAuthClient(authsvc.base, "svc", "secret").token()
    authsvc.token = lambda form, headers: (200, {"token_type": "Bearer"})
    with pytest.raises(AuthsvcUnavailable):
        ServiceAuthClient(authsvc.base, "svc", "secret").token()
