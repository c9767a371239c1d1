"""GET /metrics: who may read it, the exposition, and that the counters move with what they
count. Counters are process-wide, so every test compares a scrape before and after."""

import uuid
from datetime import timedelta
from ipaddress import ip_network

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from audit.models import OutboxEvent
from authsvc.settings.metrics import _networks
from sessions_store.models import Session
from sessions_store.services import session_revoke
from tests.accounts.mfa_helpers import authenticator_for, verify
from tests.authsvc.metrics_helpers import samples, total, value
from tests.conftest import DEFAULT_PASSWORD
from tests.tokens.conftest import assert_error

pytestmark = pytest.mark.django_db

DURATION_COUNT = "authsvc_http_request_duration_seconds_count"


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what commits inside it as a real commit would: the session counters count when
    the revocation or the session is committed, and the test's own transaction never is."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def get_metrics(**extra):
    return Client(HTTP_HOST="localhost").get("/metrics", **extra)


def scrape() -> dict:
    response = get_metrics()
    assert response.status_code == 200, response.content
    return samples(response.content.decode())


def moved(before: dict, after: dict, name: str, **labels) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


# --- Who may read it -------------------------------------------------------------------------


def test_a_client_outside_the_allowed_ips_is_refused():
    response = get_metrics(REMOTE_ADDR="203.0.113.9")

    assert_error(response, 403, "permission_denied")
    assert b"authsvc_" not in response.content


def test_loopback_may_read_it_by_default(settings):
    allowed = settings.AUTHSVC_METRICS_ALLOWED_IPS
    assert allowed == (ip_network("127.0.0.1/32"), ip_network("::1/128"))
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        response = get_metrics(REMOTE_ADDR=address)
        assert response.status_code == 200, address
        assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert response["Cache-Control"] == "no-store"
    # The rest of loopback is not in the default list, and an address must be one.
    for address in ("127.0.0.2", "", "unknown"):
        assert_error(get_metrics(REMOTE_ADDR=address), 403, "permission_denied")


def test_allowed_networks_come_from_the_setting(settings):
    settings.AUTHSVC_METRICS_ALLOWED_IPS = _networks("X", ["10.0.0.0/8", "2001:db8::/32"])

    assert get_metrics(REMOTE_ADDR="10.20.30.40").status_code == 200
    assert get_metrics(REMOTE_ADDR="2001:db8::7").status_code == 200
    assert_error(get_metrics(REMOTE_ADDR="11.0.0.1"), 403, "permission_denied")
    # Loopback is allowed only while the list says so.
    assert_error(get_metrics(REMOTE_ADDR="127.0.0.1"), 403, "permission_denied")


def test_the_setting_refuses_what_is_not_an_address_or_a_network():
    assert _networks("X", ["192.168.1.5", "10.0.0.0/8"]) == (
        ip_network("192.168.1.5/32"),
        ip_network("10.0.0.0/8"),
    )
    for wrong in ("10.0.0.5/8", "localhost", "10.0.0.0/33"):
        with pytest.raises(ImproperlyConfigured, match="X must be IP addresses or networks"):
            _networks("X", [wrong])


def test_behind_a_trusted_proxy_the_client_ip_decides(settings):
    settings.AUTHSVC_TRUSTED_PROXY_COUNT = 1
    settings.AUTHSVC_METRICS_ALLOWED_IPS = _networks("X", ["10.0.0.0/8"])
    proxy = {"REMOTE_ADDR": "172.17.0.2"}

    assert get_metrics(HTTP_X_FORWARDED_FOR="10.1.1.1", **proxy).status_code == 200
    # What the client wrote before the proxy's hop counts for nothing.
    forged = get_metrics(HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.7", **proxy)
    assert_error(forged, 403, "permission_denied")
    # The proxy's own address is not the client's: a request it forwards for an outsider
    # is refused even when the proxy itself would be allowed.
    settings.AUTHSVC_METRICS_ALLOWED_IPS = _networks("X", ["172.17.0.0/16"])
    outsider = get_metrics(HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
    assert_error(outsider, 403, "permission_denied")


def test_only_get_and_head():
    response = Client(HTTP_HOST="localhost").post("/metrics")

    assert_error(response, 405, "method_not_allowed")


def test_exempt_from_the_https_redirect(settings):
    settings.SECURE_SSL_REDIRECT = True

    assert get_metrics().status_code == 200
    assert Client(HTTP_HOST="localhost").get("/auth/csrf/").status_code == 301


# --- The exposition ---------------------------------------------------------------------------

# Every family GET /metrics documents (docs/operators.md#metrics), with its type.
FAMILIES = {
    "authsvc_http_request_duration_seconds": "histogram",
    "authsvc_http_requests_in_progress": "gauge",
    "authsvc_logins": "counter",
    "authsvc_admin_logins": "counter",
    "authsvc_login_lockouts": "counter",
    "authsvc_mfa_verifications": "counter",
    "authsvc_mfa_backup_codes_used": "counter",
    "authsvc_refreshes": "counter",
    "authsvc_refresh_token_reuse_detections": "counter",
    "authsvc_sessions_created": "counter",
    "authsvc_session_revocations": "counter",
    "authsvc_rate_limited": "counter",
    "authsvc_jwks_fetches": "counter",
    "authsvc_service_tokens_issued": "counter",
    "authsvc_service_client_auth_failures": "counter",
    "authsvc_introspections": "counter",
    "authsvc_security_events": "counter",
    "authsvc_events_relay_errors": "counter",
    "authsvc_events_relay_published": "counter",
    "authsvc_events_outbox_lag_seconds": "gauge",
}


def test_the_exposition_parses_and_declares_every_family():
    text = get_metrics().content.decode()

    families = {
        family.name: family.type
        for family in text_string_to_metric_families(text)
        if family.name.startswith("authsvc_")
    }

    assert families == FAMILIES


def test_the_outbox_lag_is_computed_at_scrape_time(clock):
    assert value(scrape(), "authsvc_events_outbox_lag_seconds") == 0.0
    OutboxEvent.objects.create(
        event_id=uuid.uuid4(),
        type="user.registered",
        occurred_at=clock.now() - timedelta(seconds=90),
        data={"method": "password"},
    )

    assert value(scrape(), "authsvc_events_outbox_lag_seconds") == 90.0

    OutboxEvent.objects.update(sent_at=clock.now())
    assert value(scrape(), "authsvc_events_outbox_lag_seconds") == 0.0


# --- Requests ---------------------------------------------------------------------------------


def test_route_labels_are_url_patterns_never_paths(logged_in):
    session_id = str(uuid.uuid4())
    before = scrape()

    assert logged_in.get(f"/auth/sessions/{session_id}/").status_code == 405
    logged_in.delete(f"/auth/sessions/{session_id}/")
    Client(HTTP_HOST="localhost").get(f"/no/such/{session_id}")

    after = scrape()
    route = "auth/sessions/<uuid:session_id>/"
    assert moved(before, after, DURATION_COUNT, route=route, method="DELETE", status="404") == 1
    assert moved(before, after, DURATION_COUNT, route="<unmatched>", method="GET", status="404")
    assert not any(session_id in str(labels) for _name, labels in after)


def test_every_final_status_is_seen(api, user, settings):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "login_failed_ip": "1/m"}
    before = scrape()

    # A CSRF failure is answered before the view's code runs.
    api.post_json("/auth/logout/", no_csrf=True)
    assert api.login(user.email, "wrong").status_code == 401
    assert api.login(user.email, "wrong").status_code == 429
    Client(HTTP_HOST="localhost").generic("BREW", "/healthz")

    after = scrape()
    login = {"route": "auth/login/", "method": "POST"}
    assert moved(before, after, DURATION_COUNT, route="auth/logout/", method="POST", status="403")
    assert moved(before, after, DURATION_COUNT, status="401", **login) == 1
    assert moved(before, after, DURATION_COUNT, status="429", **login) == 1
    assert moved(before, after, DURATION_COUNT, route="healthz", method="other", status="405")
    assert total(after, "authsvc_http_request_duration_seconds_bucket", route="auth/login/") > 0


# --- Authentication ---------------------------------------------------------------------------


def test_logins_by_outcome(client_factory, user, make_user, committed):
    disabled = make_user(is_active=False)
    before = scrape()

    with committed():
        assert client_factory().login(user.email).status_code == 200
    assert client_factory().login(user.email, "wrong password").status_code == 401
    assert client_factory().login("nobody@example.com").status_code == 401
    assert client_factory().login(disabled.email).status_code == 403

    after = scrape()
    assert moved(before, after, "authsvc_logins_total", outcome="success") == 1
    assert moved(before, after, "authsvc_logins_total", outcome="invalid_credentials") == 2
    assert moved(before, after, "authsvc_logins_total", outcome="disabled") == 1
    assert moved(before, after, "authsvc_sessions_created_total", kind="api") == 1
    assert moved(before, after, "authsvc_security_events_total", event="login_failed") == 2


def test_a_login_with_2fa_counts_the_challenge_then_the_code(client_factory, user, clock):
    totp = authenticator_for(user)
    before = scrape()

    browser = client_factory()
    assert browser.login(user.email).json()["mfa_required"] is True
    middle = scrape()
    wrong = "000000" if totp.at(clock.now()) != "000000" else "111111"
    assert_error(verify(browser, wrong), 401, "invalid_code")
    assert verify(browser, totp.at(clock.now())).status_code == 200

    after = scrape()
    assert moved(before, middle, "authsvc_logins_total", outcome="mfa_required") == 1
    assert moved(before, middle, "authsvc_logins_total", outcome="success") == 0
    assert moved(middle, after, "authsvc_logins_total", outcome="success") == 1
    checks = "authsvc_mfa_verifications_total"
    assert moved(before, after, checks, purpose="login", outcome="invalid_code") == 1
    assert moved(before, after, checks, purpose="login", outcome="success") == 1


def test_a_locked_account_counts_as_locked(client_factory, user, settings):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "login_failed_ip": "1000/m"}
    before = scrape()
    browser = client_factory()
    statuses = [browser.login(user.email, "wrong").status_code for _ in range(12)]
    assert statuses[-1] == 429

    after = scrape()
    assert moved(before, after, "authsvc_login_lockouts_total") >= 1
    locked = moved(before, after, "authsvc_logins_total", outcome="locked")
    assert locked == statuses.count(429)
    assert moved(before, after, "authsvc_rate_limited_total", group="account_lockout") == locked


def test_refreshes_and_reuse(client_factory, user, clock, committed):
    victim = client_factory()
    victim.login(user.email)
    stolen = victim.cookie("refresh_token")
    before = scrape()

    assert victim.post_json("/auth/refresh/").status_code == 200
    clock.advance(seconds=30)
    assert victim.post_json("/auth/refresh/").status_code == 200
    thief = client_factory()
    thief.cookies["refresh_token"] = stolen
    with committed():
        assert thief.post_json("/auth/refresh/").status_code == 401
    nobody = client_factory()
    nobody.cookies["refresh_token"] = "not-a-token"
    assert nobody.post_json("/auth/refresh/").status_code == 401

    after = scrape()
    assert moved(before, after, "authsvc_refreshes_total", outcome="success") == 2
    assert moved(before, after, "authsvc_refreshes_total", outcome="invalid") == 1
    assert moved(before, after, "authsvc_refresh_token_reuse_detections_total") == 1
    revocations = "authsvc_session_revocations_total"
    assert moved(before, after, revocations, reason="refresh_token_reused") == 1


def test_revocations_by_cause(logged_in, client_factory, user, committed):
    for _ in range(2):
        client_factory().login(user.email)
    other = client_factory()
    other.login(user.email)
    before = scrape()

    with committed():
        assert logged_in.post_json("/auth/logout/").status_code == 200
        assert other.post_json("/auth/logout-all/").status_code == 200

    after = scrape()
    revocations = "authsvc_session_revocations_total"
    assert moved(before, after, revocations, reason="logout") == 1
    # The two earlier sessions and the one that asked.
    assert moved(before, after, revocations, reason="logout_all") == 3


def test_a_revocation_that_rolls_back_is_not_counted(logged_in, committed):
    session = Session.objects.get()
    before = scrape()

    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        session_revoke(session_id=session.pk, reason="banned")
        raise RuntimeError("the caller failed")

    assert moved(before, scrape(), "authsvc_session_revocations_total", reason="banned") == 0
    with committed(), transaction.atomic():
        session_revoke(session_id=session.pk, reason="banned")
    assert moved(before, scrape(), "authsvc_session_revocations_total", reason="banned") == 1


def test_rate_limited_requests_by_group(api, settings):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "register_ip": "1/h"}
    before = scrape()

    assert api.register().status_code == 201
    assert api.register().status_code == 429
    assert api.register().status_code == 429

    after = scrape()
    assert moved(before, after, "authsvc_rate_limited_total", group="register_ip") == 2


def test_jwks_and_introspection(api, logged_in, make_service_client):
    from tests.conftest import basic_auth

    record, secret = make_service_client()
    before = scrape()

    first = api.get("/.well-known/jwks.json")
    api.get("/.well-known/jwks.json", HTTP_IF_NONE_MATCH=first["ETag"])
    caller = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=basic_auth(record.client_id, secret))
    access = logged_in.cookie("access_token")
    for token in (access, "garbage"):
        answer = caller.post("/auth/verify/", {"token": token}, content_type="application/json")
        assert answer.status_code == 200, answer.content

    after = scrape()
    assert moved(before, after, "authsvc_jwks_fetches_total", result="full") == 1
    assert moved(before, after, "authsvc_jwks_fetches_total", result="not_modified") == 1
    introspections = "authsvc_introspections_total"
    assert moved(before, after, introspections, token_type="access", active="true") == 1
    assert moved(before, after, introspections, token_type="none", active="false") == 1


def test_service_tokens_issued(make_service_client):
    from tests.conftest import basic_auth

    record, secret = make_service_client()
    before = scrape()

    def token(secret):
        return Client(HTTP_HOST="localhost").post(
            "/auth/token/",
            "grant_type=client_credentials",
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=basic_auth(record.client_id, secret),
        )

    assert token(secret).status_code == 200
    assert token("wrong").status_code == 401

    after = scrape()
    assert moved(before, after, "authsvc_service_tokens_issued_total") == 1
    assert moved(before, after, "authsvc_service_client_auth_failures_total") == 1


def test_no_password_or_token_reaches_a_label(client_factory, user):
    browser = client_factory()
    browser.login(user.email)
    browser.login(user.email, "Sekrit-password-0")

    text = get_metrics().content.decode()

    assert DEFAULT_PASSWORD not in text and "Sekrit-password-0" not in text
    assert user.email not in text and browser.cookie("refresh_token") not in text


def test_metrics_open_to_every_address_are_warned_about(settings):
    from authsvc.checks import check_metrics_allowed_ips

    assert check_metrics_allowed_ips(None) == []
    settings.AUTHSVC_METRICS_ALLOWED_IPS = _networks("X", ["10.0.0.0/8", "0.0.0.0/0"])

    assert [warning.id for warning in check_metrics_allowed_ips(None)] == ["authsvc.W005"]


def test_code_logins_by_outcome(client_factory, user, committed):
    from tests.accounts.test_login_codes import mailed_code, wrong

    code = mailed_code(client_factory(), user.email)
    before = scrape()

    browser = client_factory()
    body = {"email": user.email, "code": wrong(code)}
    assert browser.post_json("/auth/login/code/confirm/", body).status_code == 401
    with committed():
        body["code"] = code
        assert browser.post_json("/auth/login/code/confirm/", body).status_code == 200

    after = scrape()
    assert moved(before, after, "authsvc_logins_total", outcome="invalid_code") == 1
    assert moved(before, after, "authsvc_logins_total", outcome="success") == 1
