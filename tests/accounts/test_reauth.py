"""Step-up: `auth_time` on sessions and tokens, POST /auth/reauth/, and the endpoints that
need a recently authenticated session (a stolen but stale session cannot take the account)."""

from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from django.core import mail
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from social_django.models import UserSocialAuth

from accounts.models import User
from audit.models import AuthEvent
from authsvc.http import ClientInfo
from sessions_store.backends import get_session_store
from sessions_store.backends.base import SessionStoreUnavailable
from sessions_store.models import Session
from sessions_store.selectors import session_snapshot
from tests.accounts.mfa_helpers import enrol, login_challenged, verify
from tests.accounts.test_google import callback, google, google_login, landing  # noqa: F401
from tests.conftest import DEFAULT_PASSWORD, AuthClient, lockout_failures
from tests.tokens.conftest import assert_error
from tokens.services import session_start

pytestmark = pytest.mark.django_db

MAX_AGE = 300  # AUTHSVC_REAUTH_MAX_AGE_SECONDS's default


def claims(browser) -> dict:
    return jwt.decode(browser.cookie("access_token"), options={"verify_signature": False})


def reauth(browser, **body):
    return browser.post_json("/auth/reauth/", body)


def session_of(browser) -> Session:
    return Session.objects.get(pk=claims(browser)["sid"])


def go_stale(clock, seconds=MAX_AGE + 1):
    """Let the session's last proof of a factor age past the limit, its tokens kept alive
    by refreshes the way a browser tab would."""
    clock.advance(seconds=seconds)


def refresh(browser):
    response = browser.post_json("/auth/refresh/")
    assert response.status_code == 200, response.content
    return response


# --- auth_time --------------------------------------------------------------------------


def test_login_sets_auth_time_and_refresh_keeps_it(clock, logged_in):
    login_time = int(clock.now().timestamp())
    assert claims(logged_in)["auth_time"] == login_time
    assert session_of(logged_in).auth_time == clock.now()

    clock.advance(seconds=600)
    refresh(logged_in)

    assert claims(logged_in)["auth_time"] == login_time
    assert claims(logged_in)["iat"] == login_time + 600
    assert session_of(logged_in).auth_time.timestamp() == login_time


def test_2fa_login_sets_auth_time_at_the_code_step(logged_in, user, clock, client_factory):
    enrolled = enrol(logged_in, clock)
    browser = client_factory()
    login_challenged(browser, user.email)
    clock.advance(seconds=40)

    assert verify(browser, enrolled.code(clock)).status_code == 200

    assert claims(browser)["auth_time"] == int(clock.now().timestamp())


# --- the limit ----------------------------------------------------------------------------


def test_a_session_is_fresh_up_to_the_max_age_then_needs_reauth(logged_in, user, clock):
    clock.advance(seconds=MAX_AGE)
    assert logged_in.post_json("/auth/2fa/totp/setup/").status_code == 200

    clock.advance(seconds=1)
    refresh(logged_in)  # a refresh does not make the session fresh again

    assert_error(logged_in.post_json("/auth/2fa/totp/setup/"), 403, "reauth_required")


def test_max_age_is_a_setting(logged_in, clock, settings):
    settings.AUTHSVC_REAUTH_MAX_AGE_SECONDS = 60
    clock.advance(seconds=61)

    assert_error(logged_in.post_json("/auth/2fa/totp/setup/"), 403, "reauth_required")


def test_reading_the_google_link_needs_no_reauth(logged_in, clock):
    go_stale(clock)
    refresh(logged_in)

    assert logged_in.get("/auth/google/link/").json() == {"linked": False, "email": None}


# --- POST /auth/reauth/ with the password ------------------------------------------------------


def test_reauth_with_the_password_counts_at_once(logged_in, user, clock):
    go_stale(clock)
    refresh(logged_in)
    stale_token_auth_time = claims(logged_in)["auth_time"]
    assert_error(logged_in.post_json("/auth/2fa/totp/setup/"), 403, "reauth_required")

    response = reauth(logged_in, password=DEFAULT_PASSWORD)

    now = int(clock.now().timestamp())
    assert response.status_code == 200
    assert response.json() == {"auth_time": now}
    assert session_of(logged_in).auth_time.timestamp() == now
    # Decided by the session, not the token: the same access token may now go ahead.
    assert claims(logged_in)["auth_time"] == stale_token_auth_time
    assert logged_in.post_json("/auth/2fa/totp/setup/").status_code == 200
    # And the next token says so.
    refresh(logged_in)
    assert claims(logged_in)["auth_time"] == now
    event = AuthEvent.objects.get(type="reauth")
    assert (event.user_id, str(event.session_id)) == (user.pk, str(session_of(logged_in).pk))
    assert event.details == {"method": "pwd"}


def test_reauth_renews_only_its_own_session(logged_in, user, clock, client_factory):
    other = client_factory()
    assert other.login(user.email).status_code == 200
    go_stale(clock)
    refresh(other)

    assert reauth(logged_in, password=DEFAULT_PASSWORD).status_code == 200

    assert_error(other.post_json("/auth/2fa/totp/setup/"), 403, "reauth_required")


def test_a_wrong_password_is_401_counted_by_the_lockout(logged_in, user, clock):
    go_stale(clock)

    assert_error(reauth(logged_in, password="wrong"), 401, "invalid_credentials")

    assert lockout_failures(user.email) == 1
    assert AuthEvent.objects.get(type="reauth_failed").details == {"reason": "wrong_password"}
    assert_error(logged_in.post_json("/auth/2fa/totp/setup/"), 403, "reauth_required")
    # A right password clears the streak, as a login's does.
    assert reauth(logged_in, password=DEFAULT_PASSWORD).status_code == 200
    assert lockout_failures(user.email) == 0


def test_the_lockout_applies_to_reauth_like_to_login(logged_in, user, clock, settings):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "reauth_failed_ip": "100/m"}
    for _ in range(settings.AUTHSVC_LOGIN_FREE_FAILURES + 1):
        assert_error(reauth(logged_in, password="wrong"), 401, "invalid_credentials")

    # Locked: even the right password waits, and is not checked.
    response = reauth(logged_in, password=DEFAULT_PASSWORD)
    assert_error(response, 429, "rate_limited")
    assert response["Retry-After"] == "2"
    # The same lock as the login's: the stolen session gives no extra guesses.
    assert_error(AuthClient().login(user.email), 429, "rate_limited")
    clock.advance(seconds=2)
    assert reauth(logged_in, password=DEFAULT_PASSWORD).status_code == 200


def test_failed_reauths_are_limited_per_ip(logged_in, settings):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "reauth_failed_ip": "2/m"}
    for _ in range(2):
        assert_error(reauth(logged_in, password="wrong"), 401, "invalid_credentials")

    response = reauth(logged_in, password=DEFAULT_PASSWORD)

    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_good_reauths_do_not_count_against_the_ip(logged_in, settings):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "reauth_failed_ip": "1/m"}
    for _ in range(3):
        assert reauth(logged_in, password=DEFAULT_PASSWORD).status_code == 200


@pytest.mark.parametrize(
    "body",
    [{}, {"password": DEFAULT_PASSWORD, "code": "123456"}, {"password": 12345678}, {"pin": "1"}],
)
def test_reauth_takes_exactly_one_proof(logged_in, body):
    response = logged_in.post_json("/auth/reauth/", body)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_code_without_2fa_is_400(logged_in):
    assert_error(reauth(logged_in, code="123456"), 400, "mfa_not_enabled")


def test_reauth_needs_a_session_and_csrf(logged_in, api):
    assert_error(
        AuthClient().post_json("/auth/reauth/", {"password": "x"}), 401, "not_authenticated"
    )
    response = logged_in.post_json("/auth/reauth/", {"password": DEFAULT_PASSWORD}, no_csrf=True)
    assert_error(response, 403, "csrf_failed")


def test_a_google_only_account_without_2fa_logs_in_with_google_again(
    client_factory,
    google,  # noqa: F811
    clock,
):
    browser = client_factory()
    google_login(browser, google, sub="g-9", email="gina@example.com")
    go_stale(clock)
    refresh(browser)
    assert_error(browser.delete("/auth/google/link/"), 403, "reauth_required")
    # No password to prove (a guess is refused like a wrong one, and counted).
    assert_error(reauth(browser, password="anything at all"), 401, "invalid_credentials")
    assert AuthEvent.objects.get(type="reauth_failed").details == {"reason": "no_password"}

    again = client_factory()
    google_login(again, google, sub="g-9", email="gina@example.com")

    assert claims(again)["auth_time"] == int(clock.now().timestamp())
    assert again.post_json("/auth/2fa/totp/setup/").status_code == 200


# --- POST /auth/reauth/ with a code (accounts with 2FA) ---------------------------------------


@pytest.fixture
def enrolled(logged_in, clock):
    return enrol(logged_in, clock)


def test_an_account_with_2fa_reauths_with_a_totp_code(logged_in, enrolled, clock):
    go_stale(clock)
    assert_error(
        logged_in.post_json("/auth/2fa/backup-codes/", {"code": enrolled.code(clock)}),
        403,
        "reauth_required",
    )

    response = reauth(logged_in, code=enrolled.code(clock))

    assert response.json() == {"auth_time": int(clock.now().timestamp())}
    clock.advance(seconds=30)
    response = logged_in.post_json("/auth/2fa/backup-codes/", {"code": enrolled.code(clock)})
    assert response.status_code == 200
    assert AuthEvent.objects.get(type="reauth").details == {"method": "totp"}


def test_an_account_with_2fa_reauths_with_a_backup_code_once(logged_in, enrolled, clock):
    go_stale(clock)

    assert reauth(logged_in, code=enrolled.backup_codes[0]).status_code == 200
    assert_error(reauth(logged_in, code=enrolled.backup_codes[0]), 401, "invalid_code")

    assert AuthEvent.objects.get(type="reauth").details == {"method": "backup_code"}


def test_an_account_with_2fa_cannot_reauth_with_the_password_alone(logged_in, enrolled, clock):
    go_stale(clock)

    response = reauth(logged_in, password=DEFAULT_PASSWORD)

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_request"
    assert set(body["fields"]) == {"code"}
    assert_error(logged_in.post_json("/auth/2fa/disable/", {}), 403, "reauth_required")


def test_wrong_codes_are_401_and_throttled_per_account(logged_in, user, enrolled, clock, settings):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "reauth_failed_ip": "100/m"}
    go_stale(clock)
    for _ in range(settings.AUTHSVC_MFA_FREE_FAILURES + 1):
        assert_error(reauth(logged_in, code="000000"), 401, "invalid_code")
    assert AuthEvent.objects.filter(type="reauth_failed").count() == 4

    # The account's 2FA throttle, shared with the login's code step.
    response = reauth(logged_in, code=enrolled.code(clock))
    assert_error(response, 429, "rate_limited")
    assert response["Retry-After"] == "2"
    assert TOTPDevice.objects.get(user=user).throttling_failure_count == 4
    clock.advance(seconds=2)
    assert reauth(logged_in, code=enrolled.code(clock)).status_code == 200


# --- the server-side decision -----------------------------------------------------------------


def test_a_reauth_whose_store_write_failed_still_counts(logged_in, clock, monkeypatch):
    go_stale(clock)
    refresh(logged_in)
    sid = claims(logged_in)["sid"]
    store = get_session_store()

    def down(*args, **kwargs):
        raise SessionStoreUnavailable("down")

    with monkeypatch.context() as patch:
        patch.setattr(store, "put", down)
        assert reauth(logged_in, password=DEFAULT_PASSWORD).status_code == 200

    # The cached snapshot still has the old time; the database, asked on a refusal, wins.
    assert session_snapshot(sid).auth_time < int(clock.now().timestamp()) - MAX_AGE
    assert logged_in.post_json("/auth/2fa/totp/setup/").status_code == 200


def test_sessions_from_before_auth_time_count_from_their_login(user, clock):
    # A session row from before the column (null) and a snapshot cached before the field (0).
    issued = session_start(user=user, client=ClientInfo(ip="127.0.0.1", user_agent=""), amr=["pwd"])
    Session.objects.filter(pk=issued.session_id).update(auth_time=None)
    store = get_session_store()
    legacy = session_snapshot(issued.session_id)
    store.put(
        type(legacy)(**{**{f: getattr(legacy, f) for f in legacy.__slots__}, "auth_time": 0}), 60
    )
    browser = AuthClient()
    browser.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.access_token}")

    assert browser.post_json("/auth/2fa/totp/setup/").status_code == 200
    clock.advance(seconds=MAX_AGE + 1)
    assert_error(browser.post_json("/auth/2fa/totp/setup/"), 403, "reauth_required")


# --- the takeover paths: a stolen but stale session changes nothing ---------------------------


@pytest.fixture
def stolen(logged_in, clock):
    """The victim's session in a thief's hands, its last login more than the max age ago
    (kept alive by refreshes)."""
    go_stale(clock)
    refresh(logged_in)
    return logged_in


def test_stale_session_cannot_start_totp_enrolment(stolen, user):
    assert_error(stolen.post_json("/auth/2fa/totp/setup/"), 403, "reauth_required")

    assert not TOTPDevice.objects.filter(user=user).exists()


def test_stale_session_cannot_confirm_a_pending_enrolment(logged_in, user, clock):
    setup = logged_in.post_json("/auth/2fa/totp/setup/")
    secret = parse_qs(urlparse(setup.json()["otpauth_uri"]).query)["secret"][0]
    import pyotp

    go_stale(clock)
    refresh(logged_in)
    code = pyotp.TOTP(secret).at(clock.now())

    response = logged_in.post_json("/auth/2fa/totp/confirm/", {"code": code})

    assert_error(response, 403, "reauth_required")
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    assert not StaticDevice.objects.filter(user=user).exists()


def test_stale_session_cannot_turn_2fa_off(logged_in, user, enrolled, clock):
    go_stale(clock)
    refresh(logged_in)
    body = {"password": DEFAULT_PASSWORD, "code": enrolled.code(clock)}

    assert_error(logged_in.post_json("/auth/2fa/disable/", body), 403, "reauth_required")

    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    # Nothing was checked either: the code is still unused.
    assert reauth(logged_in, code=enrolled.code(clock)).status_code == 200


def test_stale_session_cannot_renew_backup_codes(logged_in, user, enrolled, clock):
    go_stale(clock)
    refresh(logged_in)
    before = set(StaticDevice.objects.get(user=user).token_set.values_list("token", flat=True))

    response = logged_in.post_json("/auth/2fa/backup-codes/", {"code": enrolled.code(clock)})

    assert_error(response, 403, "reauth_required")
    after = set(StaticDevice.objects.get(user=user).token_set.values_list("token", flat=True))
    assert after == before


def test_stale_session_cannot_link_google(stolen, google):  # noqa: F811
    response = stolen.post_json("/auth/google/link/")

    assert_error(response, 403, "reauth_required")
    assert stolen.cookie("google_oauth") is None


def test_stale_session_cannot_unlink_google(logged_in, user, google, clock):  # noqa: F811
    UserSocialAuth.objects.create(user=user, provider="google-oauth2", uid="g-1", extra_data={})
    go_stale(clock)
    refresh(logged_in)

    assert_error(logged_in.delete("/auth/google/link/"), 403, "reauth_required")

    assert UserSocialAuth.objects.filter(user=user).exists()


def test_stale_session_cannot_change_the_email(stolen, user):
    body = {"new_email": "thief@example.com", "password": DEFAULT_PASSWORD}

    assert_error(stolen.post_json("/auth/email/change/", body), 403, "reauth_required")

    assert mail.outbox == []
    assert User.objects.get(pk=user.pk).email == user.email


def test_fresh_session_links_google_after_reauth(stolen, google):  # noqa: F811
    assert reauth(stolen, password=DEFAULT_PASSWORD).status_code == 200
    response = stolen.post_json("/auth/google/link/")
    assert response.status_code == 200
    state = parse_qs(urlparse(response.json()["authorization_url"]).query)["state"][0]
    google.answers(sub="g-55", email="alice.personal@gmail.com")

    assert landing(callback(stolen, state=state, code="c"))[1] == {"linked": ["google"]}


# --- enrolment and reset ----------------------------------------------------------------


def test_confirming_enrolment_keeps_the_current_session_and_ends_the_others(
    logged_in, user, clock, client_factory
):
    other = client_factory()
    assert other.login(user.email).status_code == 200

    enrol(logged_in, clock)

    assert logged_in.get("/auth/self/").json()["mfa_enabled"] is True
    assert_error(other.get("/auth/self/"), 401, "invalid_token")
    assert Session.objects.filter(user=user, revoked_at__isnull=True).count() == 1


def test_a_password_reset_keeps_2fa(logged_in, user, enrolled, client_factory):
    # With step-up, enrolling needs the password (or a code): a thief with only a session
    # cannot have enrolled, so a reset that kept 2FA locks nobody out, while one that
    # removed it would make 2FA as weak as the mailbox.
    from accounts.passwords import reset_uid
    from accounts.tokens import reset_tokens

    user.refresh_from_db()
    body = {
        "uid": reset_uid(user),
        "token": reset_tokens.make_token(user),
        "new_password": "a whole new passphrase",
    }
    assert client_factory().post_json("/auth/password/reset/confirm/", body).status_code == 200

    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    login_challenged(client_factory(), user.email, "a whole new passphrase")
