"""Google login end to end through the test client, with Google faked at the HTTP
boundary (its token and userinfo endpoints) by `responses`."""

import base64
import hashlib
import json
import logging
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import requests
import responses
from social_django.models import UserSocialAuth

from accounts.models import User
from sessions_store.models import Session
from tests.accounts.mfa_helpers import enrol, verify
from tests.conftest import logged_events
from tests.tokens.conftest import assert_error

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://accounts.google.com/o/oauth2/token"
USERINFO_URL = "https://www.googleapis.com/oauth2/v3/userinfo"
RETURN_URL = "https://app.example.com/signed-in"


class FakeGoogle:
    def __init__(self, mock: responses.RequestsMock):
        self.mock = mock

    def answers(
        self, *, sub="g-1000", email="alice@example.com", email_verified=True, name="Alice G"
    ):
        self.mock.add(
            responses.POST,
            TOKEN_URL,
            json={"access_token": "ya29.fake", "token_type": "Bearer", "expires_in": 3599},
        )
        self.mock.add(
            responses.GET,
            USERINFO_URL,
            json={"sub": sub, "email": email, "email_verified": email_verified, "name": name},
        )

    def token_request(self):
        return next(call.request for call in self.mock.calls if call.request.url == TOKEN_URL)


@pytest.fixture
def google(settings):
    settings.GOOGLE_OAUTH_CLIENT_ID = "client-id.apps.googleusercontent.com"
    settings.GOOGLE_OAUTH_CLIENT_SECRET = "client-secret"
    settings.AUTHSVC_GOOGLE_RETURN_URL = RETURN_URL
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeGoogle(mock)


def start(browser) -> dict:
    response = browser.get("/auth/google/")
    assert response.status_code == 302, response.content
    return {
        key: values[0] for key, values in parse_qs(urlparse(response["Location"]).query).items()
    }


def callback(browser, **params):
    return browser.get("/auth/google/callback/", params)


def google_login(browser, google, **profile):
    auth = start(browser)
    google.answers(**profile)
    return callback(browser, state=auth["state"], code="4/0Afake-code")


def landing(response) -> tuple[str, dict]:
    assert response.status_code == 302, response.content
    url = urlparse(response["Location"])
    return f"{url.scheme}://{url.netloc}{url.path}", parse_qs(url.query)


def access_claims(browser) -> dict:
    return jwt.decode(browser.cookie("access_token"), options={"verify_signature": False})


def test_unconfigured_google_is_a_json_404(api):
    assert_error(api.get("/auth/google/"), 404, "not_configured")
    assert_error(api.get("/auth/google/callback/?code=x&state=y"), 404, "not_configured")


def test_start_redirects_to_google_with_state_and_pkce(api, google):
    response = api.get("/auth/google/")

    location = urlparse(response["Location"])
    assert (location.scheme, location.netloc) == ("https", "accounts.google.com")
    query = parse_qs(location.query)
    assert query["client_id"] == ["client-id.apps.googleusercontent.com"]
    assert query["redirect_uri"] == ["http://testserver/auth/google/callback/"]
    assert query["response_type"] == ["code"]
    assert query["scope"] == ["openid email profile"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 32
    cookie = response.cookies["google_oauth"]
    assert (cookie["httponly"], cookie["samesite"], cookie["path"]) == (
        True,
        "Lax",
        "/auth/google/",
    )
    assert response["Cache-Control"].startswith("max-age=0")


def test_new_google_user_gets_a_verified_account_and_a_session(api, google):
    auth = start(api)
    google.answers(sub="g-42", email="New.Person@Example.com", name="New Person")

    response = callback(api, state=auth["state"], code="4/0Afake-code")

    assert landing(response) == (RETURN_URL, {})
    user = User.objects.get(email="new.person@example.com")
    assert user.email_verified is True
    assert user.name == "New Person"
    assert not user.has_usable_password()
    assert UserSocialAuth.objects.get(user=user).uid == "g-42"
    claims = access_claims(api)
    assert claims["sub"] == str(user.pk)
    assert claims["amr"] == ["google"]
    assert api.get("/auth/self/").json()["email"] == "new.person@example.com"
    assert api.cookie("refresh_token")
    # The code went back to Google with the PKCE verifier of the challenge sent out.
    sent = parse_qs(google.token_request().body)
    assert sent["code"] == ["4/0Afake-code"]
    assert sent["client_secret"] == ["client-secret"]
    digest = hashlib.sha256(sent["code_verifier"][0].encode()).digest()
    assert base64.urlsafe_b64encode(digest).decode().rstrip("=") == auth["code_challenge"]
    # Google's tokens are not stored.
    assert "ya29.fake" not in json.dumps(UserSocialAuth.objects.get(user=user).extra_data)


def test_returning_user_is_matched_by_sub_not_email(client_factory, google):
    first = client_factory()
    google_login(first, google, sub="g-7", email="old@example.com")
    user = User.objects.get(email="old@example.com")

    again = client_factory()
    response = google_login(again, google, sub="g-7", email="renamed@example.com")

    assert landing(response) == (RETURN_URL, {})
    assert access_claims(again)["sub"] == str(user.pk)
    assert not User.objects.filter(email="renamed@example.com").exists()


def test_verified_local_account_is_linked_and_logged_in(api, google, make_user):
    local = make_user(email="alice@example.com", email_verified=True)

    response = google_login(api, google, email="ALICE@example.com")

    assert landing(response) == (RETURN_URL, {})
    assert access_claims(api)["sub"] == str(local.pk)
    assert UserSocialAuth.objects.get(uid="g-1000").user == local
    assert User.objects.count() == 1


def test_unverified_local_account_is_never_taken_over(api, google, make_user, caplog):
    make_user(email="alice@example.com", email_verified=False)
    caplog.set_level(logging.INFO, logger="authsvc.events")

    response = google_login(api, google, email="alice@example.com")

    assert landing(response) == (RETURN_URL, {"error": ["account_exists"]})
    assert api.cookie("access_token") is None
    assert not UserSocialAuth.objects.exists()
    assert not Session.objects.exists()
    assert "google_link_refused" in [line["event"] for line in logged_events(caplog)]


def test_google_email_not_verified_is_refused(api, google):
    response = google_login(api, google, email="bob@example.com", email_verified=False)

    assert landing(response) == (RETURN_URL, {"error": ["email_not_verified"]})
    assert not User.objects.exists()


def test_tampered_or_foreign_state_is_refused_before_google_is_asked(client_factory, google):
    browser = client_factory()
    auth = start(browser)

    # Another last character (a fixed "x" left the state whole one time in 64).
    last = "y" if auth["state"].endswith("x") else "x"
    response = callback(browser, state=auth["state"][:-1] + last, code="c")
    assert landing(response) == (RETURN_URL, {"error": ["invalid_state"]})

    # Another browser, without this one's flow cookie, cannot complete it.
    response = callback(client_factory(), state=auth["state"], code="c")
    assert landing(response) == (RETURN_URL, {"error": ["invalid_state"]})
    assert len(google.mock.calls) == 0


def test_a_state_completes_once(client_factory, google):
    browser = client_factory()
    auth = start(browser)
    flow_cookie = browser.cookies["google_oauth"].value
    google.answers()
    assert landing(callback(browser, state=auth["state"], code="c"))[1] == {}

    replay = client_factory()
    replay.cookies["google_oauth"] = flow_cookie
    response = callback(replay, state=auth["state"], code="c")

    assert landing(response)[1] == {"error": ["invalid_state"]}


def test_consent_denied_at_google(api, google):
    auth = start(api)

    response = callback(api, state=auth["state"], error="access_denied")

    assert landing(response) == (RETURN_URL, {"error": ["access_denied"]})


def test_google_token_error(api, google):
    auth = start(api)
    google.mock.add(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_grant"})

    response = callback(api, state=auth["state"], code="expired-code")

    assert landing(response) == (RETURN_URL, {"error": ["google_error"]})


def test_google_userinfo_error(api, google):
    auth = start(api)
    google.mock.add(responses.POST, TOKEN_URL, json={"access_token": "t", "token_type": "Bearer"})
    google.mock.add(responses.GET, USERINFO_URL, status=503)

    response = callback(api, state=auth["state"], code="c")

    assert landing(response)[1] == {"error": ["google_error"]}


@pytest.mark.parametrize(
    "failure", [requests.exceptions.ConnectTimeout(), requests.exceptions.ConnectionError()]
)
def test_google_unreachable(api, google, failure):
    auth = start(api)
    google.mock.add(responses.POST, TOKEN_URL, body=failure)

    response = callback(api, state=auth["state"], code="c")

    assert landing(response) == (RETURN_URL, {"error": ["google_unavailable"]})


def test_disabled_accounts_are_refused(client_factory, google, make_user):
    browser = client_factory()
    google_login(browser, google, sub="g-9", email="carol@example.com")
    User.objects.filter(email="carol@example.com").update(is_active=False)
    make_user(email="dave@example.com", email_verified=True, is_active=False)

    returning = google_login(client_factory(), google, sub="g-9", email="carol@example.com")
    matching = google_login(client_factory(), google, sub="g-10", email="dave@example.com")

    assert landing(returning)[1] == {"error": ["account_disabled"]}
    assert landing(matching)[1] == {"error": ["account_disabled"]}
    assert not UserSocialAuth.objects.filter(uid="g-10").exists()


def test_2fa_account_goes_to_the_challenge_step(client_factory, google, user, clock):
    user.email_verified = True
    user.save()
    owner = client_factory()
    owner.login(user.email)
    enrolled = enrol(owner, clock)
    browser = client_factory()

    response = google_login(browser, google, email=user.email)

    assert landing(response) == (RETURN_URL, {"mfa_required": ["1"]})
    assert browser.cookie("access_token") is None
    assert response.cookies["mfa_challenge"]["path"] == "/auth/2fa/"
    assert verify(browser, enrolled.code(clock)).status_code == 200
    assert access_claims(browser)["amr"] == ["google", "otp"]


def test_link_and_unlink_google_from_a_signed_in_account(logged_in, user, google, client_factory):
    assert logged_in.get("/auth/google/link/").json() == {"linked": False, "email": None}
    response = logged_in.post_json("/auth/google/link/")
    assert response.status_code == 200
    auth = {
        k: v[0] for k, v in parse_qs(urlparse(response.json()["authorization_url"]).query).items()
    }
    google.answers(sub="g-55", email="alice.personal@gmail.com")

    response = callback(logged_in, state=auth["state"], code="c")

    assert landing(response) == (RETURN_URL, {"linked": ["google"]})
    assert UserSocialAuth.objects.get(uid="g-55").user == user
    assert logged_in.get("/auth/google/link/").json() == {
        "linked": True,
        "email": "alice.personal@gmail.com",
    }
    other = client_factory()
    google_login(other, google, sub="g-55", email="alice.personal@gmail.com")
    assert access_claims(other)["sub"] == str(user.pk)
    assert_error(logged_in.post_json("/auth/google/link/"), 409, "google_already_linked")

    assert logged_in.delete("/auth/google/link/").status_code == 204
    assert not UserSocialAuth.objects.exists()
    assert_error(logged_in.delete("/auth/google/link/"), 404, "not_found")


def test_a_google_account_linked_elsewhere_cannot_be_linked_again(
    logged_in, google, client_factory
):
    google_login(client_factory(), google, sub="g-77", email="someone@example.com")
    response = logged_in.post_json("/auth/google/link/")
    state = parse_qs(urlparse(response.json()["authorization_url"]).query)["state"][0]
    google.answers(sub="g-77", email="someone@example.com")

    response = callback(logged_in, state=state, code="c")

    assert landing(response)[1] == {"error": ["google_account_in_use"]}


def test_link_needs_the_session_that_asked_for_it(logged_in, google):
    response = logged_in.post_json("/auth/google/link/")
    state = parse_qs(urlparse(response.json()["authorization_url"]).query)["state"][0]
    Session.objects.update(revoked_at="2026-01-01T00:00:00Z")
    logged_in.post_json("/auth/logout/")

    response = callback(logged_in, state=state, code="c")

    assert landing(response)[1] == {"error": ["not_authenticated"]}
    assert not UserSocialAuth.objects.exists()


def test_google_only_account_cannot_unlink_its_only_way_in(client_factory, google):
    browser = client_factory()
    google_login(browser, google, sub="g-3", email="erin@example.com")

    assert_error(browser.delete("/auth/google/link/"), 409, "last_login_method")
    assert UserSocialAuth.objects.filter(uid="g-3").exists()


def test_link_endpoints_need_a_login_and_csrf(api, logged_in, google, client_factory):
    assert_error(client_factory().post_json("/auth/google/link/"), 401, "not_authenticated")
    assert_error(logged_in.post_json("/auth/google/link/", no_csrf=True), 403, "csrf_failed")


def test_callback_is_rate_limited_per_ip(client_factory, google, settings):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "google_callback_ip": "2/m"}
    browser = client_factory()
    for _ in range(2):
        callback(browser, state="x", code="y")

    response = callback(browser, state="x", code="y")

    assert landing(response)[1] == {"error": ["rate_limited"]}


def test_an_unexpected_failure_is_still_a_redirect(api, google, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr("accounts.social.services.google_login_finish", boom)

    response = google_login(api, google)

    assert landing(response) == (RETURN_URL, {"error": ["server_error"]})


def test_a_database_outage_is_an_unavailable_redirect(api, google, monkeypatch):
    from django.db.utils import OperationalError

    def down(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("accounts.social.services.google_login_finish", down)

    response = google_login(api, google)

    assert landing(response) == (RETURN_URL, {"error": ["unavailable"]})


def test_events_are_logged(client_factory, google, caplog):
    caplog.set_level(logging.INFO, logger="authsvc.events")

    google_login(client_factory(), google, sub="g-8", email="frank@example.com")
    google_login(client_factory(), google, sub="g-8", email="frank@example.com")

    assert {"google_account_created", "google_login"} <= {
        line["event"] for line in logged_events(caplog)
    }
    assert "ya29.fake" not in caplog.text + json.dumps(logged_events(caplog))


def test_a_ban_refuses_google_logins_until_it_ends(client_factory, google, clock):
    from datetime import timedelta

    from accounts.bans import user_ban

    google_login(client_factory(), google, sub="g-11", email="gina@example.com")
    gina = User.objects.get(email="gina@example.com")
    user_ban(user=gina, reason="abuse", until=clock.now() + timedelta(hours=1))

    refused = google_login(client_factory(), google, sub="g-11", email="gina@example.com")
    assert landing(refused)[1] == {"error": ["account_disabled"]}

    clock.advance(hours=1, seconds=1)
    browser = client_factory()
    assert landing(google_login(browser, google, sub="g-11", email="gina@example.com"))[1] == {}
    assert access_claims(browser)["sub"] == str(gina.pk)


def test_a_backend_django_builds_without_a_strategy_gets_the_flow_cookie_one():
    # Django's get_backends() (the admin's permission checks) builds every backend with no
    # argument; social_django's ready() no longer sets social-core's default strategy
    # (accounts/social/apps.py), so the backend builds the one that default would be.
    from django.contrib.auth import get_backends

    from accounts.social.backends import GoogleOAuth2
    from accounts.social.strategy import FlowCookieStrategy

    (backend,) = [b for b in get_backends() if isinstance(b, GoogleOAuth2)]
    assert isinstance(backend.strategy, FlowCookieStrategy)
    assert backend.strategy.session == {}
    assert backend.data == {}
