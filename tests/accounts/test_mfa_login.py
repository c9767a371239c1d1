"""The login challenge: password, then a code, then the session."""

import threading

import jwt
import pytest
from django.core import signing
from django.db import connection

from accounts.mfa.challenge import challenge_issue
from sessions_store.models import Session
from tests.accounts.mfa_helpers import enrol, login_challenged, verify
from tests.tokens.conftest import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolled(logged_in, clock):
    """`user` with TOTP on, enrolled from `logged_in`."""
    return enrol(logged_in, clock)


def test_password_alone_gets_a_challenge_and_no_tokens(client_factory, user, enrolled):
    browser = client_factory()

    response = login_challenged(browser, user.email)

    assert "access_token" not in response.cookies
    assert "refresh_token" not in response.cookies
    cookie = response.cookies["mfa_challenge"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/auth/2fa/"
    assert cookie["secure"] is True
    assert int(cookie["max-age"]) == 300
    assert browser.get("/auth/self/").status_code == 401


def test_a_wrong_password_is_the_usual_401(client_factory, user, enrolled):
    response = client_factory().login(user.email, "wrong password")

    assert_error(response, 401, "invalid_credentials")
    assert "mfa_challenge" not in response.cookies


def test_totp_code_completes_the_login_with_pwd_and_otp(client_factory, user, enrolled, clock):
    browser = client_factory()
    login_challenged(browser, user.email)

    response = verify(browser, enrolled.code(clock))

    assert response.status_code == 200
    assert response.json() == {"id": str(user.pk)}
    assert response.cookies["mfa_challenge"].value == ""
    claims = jwt.decode(browser.cookie("access_token"), options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp"]
    assert claims["sub"] == str(user.pk)
    assert browser.get("/auth/self/").json()["mfa_enabled"] is True
    assert Session.objects.get(pk=claims["sid"]).amr == ["pwd", "otp"]
    # Refresh keeps the session's amr.
    assert browser.post_json("/auth/refresh/").status_code == 200
    claims = jwt.decode(browser.cookie("access_token"), options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp"]


def test_the_codes_of_the_neighbouring_steps_work_but_not_further(
    client_factory, user, enrolled, clock
):
    def attempt(**offset):
        browser = client_factory()
        login_challenged(browser, user.email)
        return verify(browser, enrolled.code(clock, **offset)).status_code

    assert attempt(seconds=-60) == 401
    assert attempt(seconds=60) == 401
    assert attempt(seconds=30) == 200  # a phone one step ahead
    clock.advance(seconds=90)
    assert attempt(seconds=-30) == 200  # a phone one step behind


def test_a_totp_code_works_once(client_factory, user, enrolled, clock):
    code = enrolled.code(clock)
    first, second = client_factory(), client_factory()
    login_challenged(first, user.email)
    login_challenged(second, user.email)

    assert verify(first, code).status_code == 200
    assert_error(verify(second, code), 401, "invalid_code")
    # Nor does an older code, once a later step was accepted.
    assert_error(verify(second, enrolled.code(clock, seconds=-30)), 401, "invalid_code")
    clock.advance(seconds=30)
    assert verify(second, enrolled.code(clock)).status_code == 200


def test_a_backup_code_works_once(client_factory, user, enrolled):
    code = enrolled.backup_codes[3]
    first, second = client_factory(), client_factory()
    login_challenged(first, user.email)
    login_challenged(second, user.email)

    response = verify(first, code.upper().replace("-", " "))
    assert response.status_code == 200
    claims = jwt.decode(first.cookie("access_token"), options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp"]
    assert_error(verify(second, code), 401, "invalid_code")
    assert verify(second, enrolled.backup_codes[4]).status_code == 200


def test_a_challenge_completes_once(client_factory, user, enrolled, clock):
    browser = client_factory()
    login_challenged(browser, user.email)
    stolen = browser.cookie("mfa_challenge")
    assert verify(browser, enrolled.code(clock)).status_code == 200

    replay = client_factory()
    replay.cookies["mfa_challenge"] = stolen
    clock.advance(seconds=30)
    response = verify(replay, enrolled.code(clock))

    assert_error(response, 401, "mfa_challenge_expired")
    assert response.cookies["mfa_challenge"].value == ""


def test_no_challenge_cookie(client_factory, user, enrolled, clock):
    assert_error(verify(client_factory(), enrolled.code(clock)), 401, "mfa_challenge_expired")


def test_a_challenge_expires_after_five_minutes(client_factory, user, enrolled, clock):
    browser = client_factory()
    login_challenged(browser, user.email)

    clock.advance(seconds=301)

    assert_error(verify(browser, enrolled.code(clock)), 401, "mfa_challenge_expired")


def test_a_forged_or_tampered_challenge_is_refused(client_factory, user, enrolled, clock):
    browser = client_factory()
    login_challenged(browser, user.email)
    genuine = browser.cookie("mfa_challenge")
    forged = signing.dumps(
        {"c": "x", "u": str(user.pk), "a": ["pwd"], "e": 4102444800}, key="not-the-key"
    )

    for value in (forged, genuine[:-2] + ("AA" if genuine[-2:] != "AA" else "BB"), "garbage"):
        browser.cookies["mfa_challenge"] = value
        assert_error(verify(browser, enrolled.code(clock)), 401, "mfa_challenge_expired")


def test_a_challenge_is_bound_to_its_account(client_factory, user, enrolled, clock, make_user):
    """Mallory knows her own password and code, and has Alice's challenge: nothing works."""
    mallory = make_user(email="mallory@example.com")
    mallory_browser = client_factory()
    mallory_browser.login(mallory.email)
    mallory_app = enrol(mallory_browser, clock)
    alice_browser = client_factory()
    login_challenged(alice_browser, user.email)
    login_challenged(mallory_browser, mallory.email)

    # Alice's challenge with Mallory's code: checked against Alice's device.
    mallory_browser.cookies["mfa_challenge"] = alice_browser.cookie("mfa_challenge")
    assert_error(verify(mallory_browser, mallory_app.code(clock)), 401, "invalid_code")
    # A challenge id issued for Mallory cannot be re-signed for Alice without the key, and
    # a real challenge of Mallory's names Mallory: it logs Mallory in, never Alice.
    other = client_factory()
    other.cookies["mfa_challenge"] = challenge_issue(user_id=str(mallory.pk), amr=["pwd"]).token
    response = verify(other, mallory_app.code(clock))
    assert response.json() == {"id": str(mallory.pk)}


def test_too_many_wrong_codes_end_the_challenge(client_factory, user, enrolled, clock, settings):
    settings.AUTHSVC_MFA_FREE_FAILURES = 100  # isolate the per-challenge limit
    browser = client_factory()
    login_challenged(browser, user.email)

    for _ in range(settings.AUTHSVC_MFA_CHALLENGE_MAX_FAILURES):
        assert_error(verify(browser, "000000"), 401, "invalid_code")

    assert_error(verify(browser, enrolled.code(clock)), 401, "mfa_challenge_expired")


def test_wrong_codes_are_throttled_per_account(client_factory, user, enrolled, clock):
    """Three free failures, then waits of 2, 4, 8 ... seconds, whichever challenge asks."""
    browsers = [client_factory() for _ in range(3)]
    for browser in browsers:
        login_challenged(browser, user.email)
    for browser in (browsers[0], browsers[0], browsers[1], browsers[1]):
        assert_error(verify(browser, "000000"), 401, "invalid_code")

    # Even the right code waits now: guesses cannot be told from the owner's tries.
    response = verify(browsers[2], enrolled.code(clock))
    assert_error(response, 429, "rate_limited")
    assert response["Retry-After"] == "2"
    clock.advance(seconds=2)
    assert_error(verify(browsers[2], "000000"), 401, "invalid_code")
    response = verify(browsers[2], enrolled.code(clock))
    assert response["Retry-After"] == "4"
    clock.advance(seconds=4)
    assert verify(browsers[2], enrolled.code(clock)).status_code == 200
    # Success resets the count.
    clock.advance(seconds=30)
    browser = client_factory()
    login_challenged(browser, user.email)
    assert_error(verify(browser, "000000"), 401, "invalid_code")
    assert verify(browser, enrolled.code(clock)).status_code == 200


def test_a_banned_account_is_refused_after_the_right_code(client_factory, user, enrolled, clock):
    browser = client_factory()
    login_challenged(browser, user.email)
    type(user).objects.filter(pk=user.pk).update(is_active=False)

    assert_error(verify(browser, enrolled.code(clock)), 403, "account_disabled")
    assert_error(verify(browser, enrolled.code(clock)), 401, "mfa_challenge_expired")


def test_verify_needs_csrf(client_factory, user, enrolled, clock):
    browser = client_factory()
    login_challenged(browser, user.email)

    response = browser.post_json("/auth/2fa/verify/", {"code": enrolled.code(clock)}, no_csrf=True)

    assert_error(response, 403, "csrf_failed")


@pytest.mark.django_db(transaction=True)
def test_one_code_raced_by_two_requests_logs_in_once(client_factory, make_user, clock):
    user = make_user(email="racer@example.com")
    owner = client_factory()
    owner.login(user.email)
    enrolled = enrol(owner, clock)
    browsers = [client_factory() for _ in range(4)]
    for browser in browsers:
        login_challenged(browser, user.email)
    code = enrolled.code(clock)
    barrier = threading.Barrier(len(browsers))
    statuses = []

    def attempt(browser):
        barrier.wait()
        try:
            statuses.append(verify(browser, code).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(b,)) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 401, 401, 401]
    assert Session.objects.filter(user=user, amr=["pwd", "otp"]).count() == 1
