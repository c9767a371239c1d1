"""Abuse resistance on the password door: per-IP failure limits, the per-account lockout,
registration and 2FA limits, and the address normal form."""

import logging

import pytest
from django.core import mail

from accounts.models import User
from tests.accounts.mfa_helpers import enrol, login_challenged, verify
from tests.conftest import DEFAULT_PASSWORD, logged_events
from tests.tokens.conftest import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    def set_rates(**rates):
        settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, **rates}

    return set_rates


@pytest.fixture
def no_ip_limit(rates):
    rates(login_failed_ip="10000/h")


def test_failed_logins_are_limited_per_ip(api, user, make_user, rates):
    rates(login_failed_ip="3/m")
    for email in ("a@example.com", "b@example.com", user.email):
        assert_error(api.login(email, "wrong password"), 401, "invalid_credentials")

    response = api.login(user.email)

    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_good_logins_do_not_count_against_the_ip(api, user, rates):
    rates(login_failed_ip="2/m")
    for _ in range(4):
        assert api.login(user.email).status_code == 200


def test_a_forged_x_forwarded_for_never_resets_the_ip_limit(api, user, rates):
    rates(login_failed_ip="2/m")

    def login(password, hop):
        body = {"email": user.email, "password": password}
        return api.post_json("/auth/login/", body, HTTP_X_FORWARDED_FOR=hop)

    for hop in ("203.0.113.1", "203.0.113.2"):
        assert login("wrong password", hop).status_code == 401

    response = login(DEFAULT_PASSWORD, "198.51.100.7")

    assert_error(response, 429, "rate_limited")


def test_lockout_slows_an_account_then_clears_on_success(
    client_factory, user, clock, no_ip_limit, settings, caplog
):
    caplog.set_level(logging.INFO, logger="authsvc.events")
    browser = client_factory()
    for _ in range(settings.AUTHSVC_LOGIN_FREE_FAILURES + 1):
        assert_error(browser.login(user.email, "wrong"), 401, "invalid_credentials")

    # Locked for 2 s: even the right password gets the 429 and is not checked.
    response = client_factory().login(user.email)
    assert_error(response, 429, "rate_limited")
    assert response["Retry-After"] == "2"
    assert "login_locked" in [line["event"] for line in logged_events(caplog)]
    clock.advance(seconds=2)
    assert client_factory().login(user.email).status_code == 200
    # The right password reset the streak.
    assert_error(client_factory().login(user.email, "wrong"), 401, "invalid_credentials")
    assert client_factory().login(user.email).status_code == 200


def test_unknown_and_known_addresses_lock_alike(client_factory, user, clock, no_ip_limit):
    answers = {}
    for email in (user.email, "nobody@example.com"):
        browser = client_factory()
        answers[email] = [browser.login(email, "wrong").status_code for _ in range(8)]

    assert answers[user.email] == answers["nobody@example.com"]
    assert answers[user.email][-1] == 429


def test_lockout_never_allows_more_than_100_failures_an_hour(
    client_factory, user, clock, no_ip_limit
):
    browser = client_factory()
    start, failures = clock.now(), 0
    while (clock.now() - start).total_seconds() < 3600:
        response = browser.login(user.email, "wrong")
        if response.status_code == 429:
            clock.advance(seconds=int(response["Retry-After"]))
        else:
            assert response.status_code == 401
            failures += 1

    assert failures <= 100
    assert failures == 17  # 6 at once, then after waits of 2, 4 ... 512 s, then every 15 min


def test_a_password_reset_clears_the_lockout(client_factory, user, clock, no_ip_limit):
    browser = client_factory()
    for _ in range(8):
        browser.login(user.email, "wrong")
    assert_error(browser.login(user.email), 429, "rate_limited")
    browser.post_json("/auth/password/reset/", {"email": user.email})
    link = next(line for line in mail.outbox[-1].body.splitlines() if "uid=" in line)
    query = dict(part.split("=", 1) for part in link.split("?", 1)[1].split("&"))

    response = browser.post_json(
        "/auth/password/reset/confirm/",
        {"uid": query["uid"], "token": query["token"], "new_password": "a fresh passphrase"},
    )

    assert response.status_code == 200
    assert browser.login(user.email, "a fresh passphrase").status_code == 200


def test_a_stolen_session_cannot_guess_the_password_faster(logged_in, user, no_ip_limit):
    change = {"current_password": "wrong", "new_password": "another passphrase"}
    for _ in range(6):
        assert logged_in.post_json("/auth/password/change/", change).status_code == 400

    response = logged_in.post_json(
        "/auth/password/change/", {**change, "current_password": DEFAULT_PASSWORD}
    )

    assert_error(response, 429, "rate_limited")


def test_registration_is_limited_per_ip(api, rates):
    rates(register_ip="2/h")
    assert api.register().status_code == 201
    assert api.register().status_code == 201

    assert_error(api.register(), 429, "rate_limited")


def test_2fa_verify_is_limited_per_ip(logged_in, user, client_factory, clock, rates):
    rates(mfa_verify_ip="2/m")
    enrol(logged_in, clock)
    browser = client_factory()
    login_challenged(browser, user.email)
    verify(browser, "000000")
    verify(browser, "000000")

    assert_error(verify(browser, "000000"), 429, "rate_limited")


def test_rate_limits_can_be_switched_off_for_load_tests(api, user, rates, settings):
    rates(login_failed_ip="1/m")
    settings.RATELIMIT_ENABLE = False
    for _ in range(10):
        assert api.login(user.email, "wrong").status_code == 401


def test_dotless_i_and_unicode_domains_are_other_addresses(api, make_user):
    real = make_user(email="john@github.com")

    response = api.register("john@gıthub.com")
    assert response.status_code == 201
    lookalike = User.objects.get(pk=response.json()["id"])
    assert lookalike.email == "john@xn--gthub-n4a.com"
    # A reset asked for the lookalike never reaches the real account.
    mail.outbox.clear()
    api.post_json("/auth/password/reset/", {"email": "JOHN@GITHUB.COM"})
    api.post_json("/auth/password/reset/", {"email": "john@gıthub.com"})
    assert sorted(message.to[0] for message in mail.outbox) == sorted([real.email, lookalike.email])


@pytest.mark.parametrize(
    "variant", ["ALICE@EXAMPLE.COM", "ａｌｉｃｅ@ｅｘａｍｐｌｅ.ｃｏｍ", " alice@example.com "]
)
def test_case_and_width_variants_are_the_same_account(api, user, variant):
    assert_error(api.register(variant), 409, "email_taken")


@pytest.mark.parametrize(
    "email", ["al\x00ice@example.com", "ali\u200bce@example.com", "аlice@example.com"]
)
def test_control_format_and_non_ascii_local_parts_are_refused(api, email):
    response = api.register(email)

    assert response.status_code == 400
    assert response.json()["fields"]["email"]
