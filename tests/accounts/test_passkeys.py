"""Passkeys over the API, with real WebAuthn objects from a software authenticator
(tests/accounts/webauthn_helpers.py): registration, discoverable login, the second factor
after a password, list / rename / delete, and what py_webauthn and the service refuse."""

from io import StringIO

import jwt
import pytest
from django.core.management import call_command
from django.test import override_settings

from accounts.bans import user_ban
from accounts.models import Passkey, PasskeyChallenge
from audit.models import AuthEvent
from sessions_store.models import Session
from tests.accounts.mfa_helpers import enrol
from tests.accounts.webauthn_helpers import (
    SoftAuthenticator,
    b64u,
    login_options,
    passkey_login,
    register_passkey,
)
from tests.authsvc.test_metrics import moved, scrape
from tests.tokens.conftest import assert_error

pytestmark = pytest.mark.django_db

REAUTH_MAX_AGE = 300


def claims(browser) -> dict:
    return jwt.decode(browser.cookie("access_token"), options={"verify_signature": False})


def login_challenged(browser, email):
    response = browser.login(email)
    assert response.status_code == 200, response.content
    assert response.json()["mfa_required"] is True
    return response


def events(name: str):
    return AuthEvent.objects.filter(type=name).order_by("id")


@pytest.fixture
def key():
    return SoftAuthenticator()


@pytest.fixture
def registered(logged_in, key):
    """`user` has `key` registered as a passkey."""
    return register_passkey(logged_in, key, name="Laptop")


# Registration ------------------------------------------------------------------------------


def test_registration_options_ask_for_user_verification_and_a_resident_key(logged_in, user):
    response = logged_in.post_json("/auth/passkeys/register/options/")

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("no-store")
    options = response.json()
    assert options["rp"] == {"id": "localhost", "name": "authsvc"}
    assert options["user"] == {
        "id": b64u(user.pk.bytes),
        "name": user.email,
        "displayName": user.name,
    }
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert options["excludeCredentials"] == []
    assert options["attestation"] == "none"
    assert len(options["challenge"]) == 43  # 32 random bytes, base64url without padding
    assert {"type": "public-key", "alg": -7} in options["pubKeyCredParams"]
    row = PasskeyChallenge.objects.get()
    assert row.purpose == "register" and row.user_id == user.pk
    assert row.session_id == claims(logged_in)["sid"]


def test_registration_options_exclude_the_users_passkeys(logged_in, registered, key):
    options = logged_in.post_json("/auth/passkeys/register/options/").json()

    assert options["excludeCredentials"] == [
        {"id": key.id, "type": "public-key", "transports": ["internal", "hybrid"]}
    ]


def test_registration_options_need_a_session(api):
    assert_error(api.post_json("/auth/passkeys/register/options/"), 401, "not_authenticated")


def test_registration_options_need_a_recent_authentication(logged_in, clock):
    clock.advance(seconds=REAUTH_MAX_AGE + 1)

    response = logged_in.post_json("/auth/passkeys/register/options/")

    assert_error(response, 403, "reauth_required")
    assert not PasskeyChallenge.objects.exists()


def test_registration_options_need_csrf(logged_in):
    response = logged_in.post_json("/auth/passkeys/register/options/", no_csrf=True)

    assert_error(response, 403, "csrf_failed")


@pytest.mark.parametrize("fmt", ["none", "packed"])
def test_register_keeps_the_credential(logged_in, user, key, fmt):
    options = logged_in.post_json("/auth/passkeys/register/options/").json()

    response = logged_in.post_json(
        "/auth/passkeys/register/",
        {"credential": key.register(options, fmt=fmt), "name": "  My   phone "},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    passkey = Passkey.objects.get()
    assert body == {
        "id": str(passkey.pk),
        "name": "My phone",
        "created_at": body["created_at"],
    }
    assert passkey.user_id == user.pk
    assert bytes(passkey.credential_id) == key.credential_id
    assert passkey.sign_count == 1
    assert passkey.transports == ["internal", "hybrid"]
    assert passkey.backup_eligible is False and passkey.amr == "hwk"
    event = events("passkey_registered").get()
    assert event.user_id == user.pk
    assert event.details["passkey_id"] == str(passkey.pk)
    assert not PasskeyChallenge.objects.exists()


def test_register_names_a_passkey_by_default(logged_in):
    first = register_passkey(logged_in, SoftAuthenticator())
    second = register_passkey(logged_in, SoftAuthenticator(backup_eligible=True))

    assert (first["name"], second["name"]) == ("Passkey 1", "Passkey 2")
    assert Passkey.objects.get(pk=second["id"]).amr == "swk"


def _register(browser, key, **bend):
    options = browser.post_json("/auth/passkeys/register/options/").json()
    return browser.post_json(
        "/auth/passkeys/register/", {"credential": key.register(options, **bend)}
    )


@pytest.mark.parametrize(
    "bend",
    [
        {"origin": "https://evil.example"},
        {"origin": "http://localhost:8001"},
        {"rp_id": "evil.example"},
        {"challenge": b64u(b"\x00" * 32)},
        {"uv": False},
    ],
    ids=[
        "wrong origin",
        "wrong port",
        "wrong rp id",
        "challenge not issued",
        "no user verification",
    ],
)
def test_register_refuses_a_bent_answer(logged_in, key, bend):
    response = _register(logged_in, key, **bend)

    assert_error(response, 400, "invalid_credential")
    assert not Passkey.objects.exists()


def test_register_refuses_a_replayed_answer(logged_in, key):
    options = logged_in.post_json("/auth/passkeys/register/options/").json()
    credential = key.register(options)
    assert (
        logged_in.post_json("/auth/passkeys/register/", {"credential": credential}).status_code
        == 201
    )
    Passkey.objects.all().delete()

    response = logged_in.post_json("/auth/passkeys/register/", {"credential": credential})

    assert_error(response, 400, "invalid_credential")
    assert not Passkey.objects.exists()


def test_register_refuses_a_challenge_of_another_session(client_factory, user, key):
    mine, other = client_factory(), client_factory()
    assert mine.login(user.email).status_code == 200
    assert other.login(user.email).status_code == 200
    options = mine.post_json("/auth/passkeys/register/options/").json()

    response = other.post_json("/auth/passkeys/register/", {"credential": key.register(options)})

    assert_error(response, 400, "invalid_credential")


def test_register_refuses_a_login_challenge(logged_in, key, user):
    login = login_options(logged_in)
    options = {**login, "rp": {"id": login["rpId"]}, "user": {"id": b64u(user.pk.bytes)}}

    response = logged_in.post_json(
        "/auth/passkeys/register/", {"credential": key.register(options)}
    )

    assert_error(response, 400, "invalid_credential")


def test_register_refuses_a_credential_registered_already(logged_in, registered, key):
    response = _register(logged_in, key)

    assert_error(response, 400, "invalid_credential")
    assert Passkey.objects.count() == 1


def test_register_refuses_an_expired_challenge(logged_in, key, clock):
    options = logged_in.post_json("/auth/passkeys/register/options/").json()
    clock.advance(seconds=301)

    response = logged_in.post_json(
        "/auth/passkeys/register/", {"credential": key.register(options)}
    )

    assert_error(response, 400, "invalid_credential")


@pytest.mark.parametrize("credential", ["text", [], {}, {"response": {"clientDataJSON": "!!"}}])
def test_register_refuses_junk(logged_in, credential):
    logged_in.post_json("/auth/passkeys/register/options/")

    response = logged_in.post_json("/auth/passkeys/register/", {"credential": credential})

    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_credential", "invalid_request"}


# The collection --------------------------------------------------------------------------


def test_list_shows_the_users_passkeys_only(logged_in, registered, make_user, client_factory):
    other = make_user()
    browser = client_factory()
    browser.login(other.email)
    register_passkey(browser, SoftAuthenticator())

    response = logged_in.get("/auth/passkeys/")

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": registered["id"],
            "name": "Laptop",
            "created_at": registered["created_at"],
            "last_used_at": None,
        }
    ]


def test_rename(logged_in, registered, user):
    response = logged_in.patch(
        f"/auth/passkeys/{registered['id']}/", {"name": "Work laptop"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["name"] == "Work laptop"
    assert Passkey.objects.get().name == "Work laptop"
    event = events("passkey_renamed").get()
    assert event.details["before"] == "Laptop" and event.details["after"] == "Work laptop"


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "tab\u200bhere"])
def test_rename_refuses_a_bad_name(logged_in, registered, name):
    response = logged_in.patch(f"/auth/passkeys/{registered['id']}/", {"name": name}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert Passkey.objects.get().name == "Laptop"


def test_put_is_not_a_second_way_to_rename(logged_in, registered):
    response = logged_in.put(f"/auth/passkeys/{registered['id']}/", {"name": "x"}, format="json")

    assert_error(response, 405, "method_not_allowed")


def test_delete(logged_in, registered, user):
    response = logged_in.delete(f"/auth/passkeys/{registered['id']}/")

    assert response.status_code == 204
    assert not Passkey.objects.exists()
    assert events("passkey_deleted").get().user_id == user.pk


def live_sessions(user) -> set[str]:
    return {
        str(pk)
        for pk in Session.objects.filter(user=user, revoked_at__isnull=True).values_list(
            "pk", flat=True
        )
    }


def test_a_first_passkey_ends_the_other_sessions(logged_in, key, client_factory, user):
    other = client_factory()
    assert other.login(user.email).status_code == 200
    assert len(live_sessions(user)) == 2

    register_passkey(logged_in, key)

    # Opened without a second factor, as when an authenticator app is confirmed.
    assert live_sessions(user) == {claims(logged_in)["sid"]}
    assert other.get("/auth/self/").status_code == 401
    assert logged_in.get("/auth/self/").status_code == 200
    assert events("passkey_registered").get().details["revoked"] == 1


def test_another_passkey_leaves_the_sessions(logged_in, registered, client_factory, user, key):
    other = client_factory()
    login_challenged(other, user.email)
    assert _mfa_passkey(other, key)[0].status_code == 200
    before = live_sessions(user)
    assert len(before) == 2

    register_passkey(logged_in, SoftAuthenticator())

    assert live_sessions(user) == before


def test_deleting_a_passkey_ends_the_other_sessions(
    logged_in, registered, client_factory, user, key
):
    other = client_factory()
    login_challenged(other, user.email)
    assert _mfa_passkey(other, key)[0].status_code == 200

    assert logged_in.delete(f"/auth/passkeys/{registered['id']}/").status_code == 204

    # The lost device's sessions end with it; the one that deleted it stays.
    assert live_sessions(user) == {claims(logged_in)["sid"]}
    assert other.get("/auth/self/").status_code == 401
    assert events("passkey_deleted").get().details["revoked"] == 1


def test_delete_needs_a_recent_authentication(logged_in, registered, clock):
    clock.advance(seconds=REAUTH_MAX_AGE + 1)

    assert_error(logged_in.delete(f"/auth/passkeys/{registered['id']}/"), 403, "reauth_required")
    assert Passkey.objects.count() == 1
    # Listing and renaming do not.
    assert logged_in.get("/auth/passkeys/").status_code == 200


def test_another_users_passkey_is_a_404(registered, make_user, client_factory):
    other = make_user()
    browser = client_factory()
    browser.login(other.email)
    path = f"/auth/passkeys/{registered['id']}/"

    assert_error(browser.delete(path), 404, "not_found")
    assert_error(browser.patch(path, {"name": "mine"}, format="json"), 404, "not_found")
    assert Passkey.objects.get().name == "Laptop"


def test_unknown_and_malformed_ids_are_404(logged_in):
    assert (
        logged_in.delete("/auth/passkeys/7d3c1f1e-0000-4000-8000-000000000000/").status_code == 404
    )
    assert logged_in.delete("/auth/passkeys/not-a-uuid/").status_code == 404


# Sign-in ---------------------------------------------------------------------------------


def test_login_options_are_for_a_discoverable_credential(api):
    response = api.post_json("/auth/passkeys/login/options/")

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("no-store")
    options = response.json()
    assert options["rpId"] == "localhost"
    assert options["allowCredentials"] == []
    assert options["userVerification"] == "required"
    assert PasskeyChallenge.objects.get().purpose == "login"


def test_login_options_need_csrf(api):
    assert_error(api.post_json("/auth/passkeys/login/options/", no_csrf=True), 403, "csrf_failed")


def test_login_signs_in_with_hwk_and_mfa(client_factory, registered, key, user):
    browser = client_factory()

    response = passkey_login(browser, key)

    assert response.status_code == 200, response.content
    assert response.json() == {"id": str(user.pk)}
    assert response.cookies["access_token"]["httponly"] is True
    assert browser.cookie("refresh_token")
    token = claims(browser)
    assert token["amr"] == ["hwk", "mfa"]
    assert token["sub"] == str(user.pk)
    assert Session.objects.get(pk=token["sid"]).amr == ["hwk", "mfa"]
    assert browser.get("/auth/self/").json()["email"] == user.email
    passkey = Passkey.objects.get()
    assert passkey.sign_count == 2 and passkey.last_used_at is not None
    assert events("passkey_login_succeeded").get().details["amr"] == ["hwk", "mfa"]
    # The login proved a factor: step-up changes are open at once.
    assert browser.post_json("/auth/passkeys/register/options/").status_code == 200


def test_a_synced_passkey_is_swk(client_factory, logged_in):
    synced = SoftAuthenticator(backup_eligible=True, counting=False)
    register_passkey(logged_in, synced)
    browser = client_factory()

    assert passkey_login(browser, synced).status_code == 200
    assert claims(browser)["amr"] == ["swk", "mfa"]
    # A counter that stays at 0 is no clone.
    assert passkey_login(client_factory(), synced).status_code == 200


def test_login_works_without_a_user_handle(client_factory, registered, key):
    assert passkey_login(client_factory(), key, user_handle=None).status_code == 200


@pytest.mark.parametrize(
    "bend",
    [
        {"origin": "https://evil.example"},
        {"origin": "https://localhost:8000"},
        {"rp_id": "evil.example"},
        {"challenge": b64u(b"\x01" * 32)},
        {"uv": False},
        {"user_handle": b64u(b"\x00" * 16)},
    ],
    ids=[
        "wrong origin",
        "wrong scheme",
        "wrong rp id",
        "challenge not issued",
        "no user verification",
        "another user handle",
    ],
)
def test_login_refuses_a_bent_assertion(client_factory, registered, key, bend):
    browser = client_factory()

    response = passkey_login(browser, key, **bend)

    assert_error(response, 401, "invalid_credential")
    assert "access_token" not in response.cookies
    assert events("passkey_login_failed").count() == 1


def test_login_refuses_a_replayed_assertion(client_factory, registered, key):
    browser = client_factory()
    credential = key.assertion(login_options(browser))
    assert browser.post_json("/auth/passkeys/login/", {"credential": credential}).status_code == 200

    replay = client_factory().post_json("/auth/passkeys/login/", {"credential": credential})

    assert_error(replay, 401, "invalid_credential")
    assert events("passkey_login_failed").get().details["reason"] == "challenge"


def test_a_failed_answer_spends_the_challenge(client_factory, registered, key):
    browser = client_factory()
    options = login_options(browser)
    wrong = key.assertion(options, origin="https://evil.example")
    assert_error(
        browser.post_json("/auth/passkeys/login/", {"credential": wrong}), 401, "invalid_credential"
    )

    right = key.assertion(options)

    assert_error(
        browser.post_json("/auth/passkeys/login/", {"credential": right}), 401, "invalid_credential"
    )


def test_login_refuses_an_expired_challenge(client_factory, registered, key, clock):
    browser = client_factory()
    options = login_options(browser)
    clock.advance(seconds=301)

    response = browser.post_json("/auth/passkeys/login/", {"credential": key.assertion(options)})

    assert_error(response, 401, "invalid_credential")


def test_login_refuses_an_unknown_credential(client_factory, registered):
    assert_error(passkey_login(client_factory(), SoftAuthenticator()), 401, "invalid_credential")


def test_login_refuses_a_bad_signature(client_factory, registered, key):
    browser = client_factory()
    credential = key.assertion(login_options(browser))
    credential["response"]["signature"] = SoftAuthenticator().assertion(login_options(browser))[
        "response"
    ]["signature"]

    response = browser.post_json("/auth/passkeys/login/", {"credential": credential})

    assert_error(response, 401, "invalid_credential")
    assert Passkey.objects.get().sign_count == 1


def test_a_counter_that_goes_backwards_is_a_clone(client_factory, registered, key, user):
    assert passkey_login(client_factory(), key).status_code == 200  # counter 2
    assert passkey_login(client_factory(), key).status_code == 200  # counter 3

    browser = client_factory()
    response = passkey_login(browser, key, sign_count=2)

    assert_error(response, 401, "invalid_credential")
    assert "access_token" not in response.cookies
    assert Passkey.objects.get().sign_count == 3  # not moved back
    clone = events("passkey_clone_detected").get()
    assert clone.user_id == user.pk
    assert clone.details["stored_sign_count"] == 3
    assert clone.details["presented_sign_count"] == 2
    assert events("passkey_login_failed").get().details["reason"] == "counter_regressed"
    # The same counter again is refused too; a higher one from the real key goes on.
    assert passkey_login(client_factory(), key, sign_count=3).status_code == 401
    assert passkey_login(client_factory(), key, sign_count=4).status_code == 200


def test_a_counter_back_at_zero_is_a_clone(client_factory, registered, key):
    response = passkey_login(client_factory(), key, sign_count=0)

    assert_error(response, 401, "invalid_credential")
    assert events("passkey_clone_detected").count() == 1


def test_a_forged_counter_with_a_bad_signature_is_no_clone(client_factory, registered, key):
    browser = client_factory()
    credential = key.assertion(login_options(browser), sign_count=0)
    credential["response"]["signature"] = b64u(b"\x30\x06\x02\x01\x01\x02\x01\x01")

    response = browser.post_json("/auth/passkeys/login/", {"credential": credential})

    assert_error(response, 401, "invalid_credential")
    assert not events("passkey_clone_detected").exists()


def test_a_disabled_account_is_told_only_after_a_valid_assertion(
    client_factory, registered, key, user
):
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert_error(passkey_login(client_factory(), key), 403, "account_disabled")
    assert_error(
        passkey_login(client_factory(), key, origin="https://evil.example"),
        401,
        "invalid_credential",
    )


def test_a_banned_account_cannot_sign_in_with_a_passkey(client_factory, registered, key, user):
    user_ban(user=user, reason="spam", by=None)

    assert_error(passkey_login(client_factory(), key), 403, "account_disabled")


@override_settings(AUTHSVC_LOGIN_REQUIRES_VERIFIED_EMAIL=True)
def test_an_unverified_email_waits_as_for_a_password(client_factory, registered, key):
    assert_error(passkey_login(client_factory(), key), 403, "email_not_verified")


@override_settings(AUTHSVC_RATE_LIMITS_ENABLED=True)
def test_login_is_rate_limited_per_ip(api, settings):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "passkey_login_ip": "3/m"}
    for _ in range(3):
        assert api.post_json("/auth/passkeys/login/options/").status_code == 200

    response = api.post_json("/auth/passkeys/login/options/")

    assert_error(response, 429, "rate_limited")
    assert "Retry-After" in response
    response = api.post_json("/auth/passkeys/login/", {"credential": {}})
    assert_error(response, 429, "rate_limited")


# The second factor after a password ------------------------------------------------------


def test_a_password_login_of_a_passkey_account_asks_for_the_passkey(
    client_factory, registered, user
):
    browser = client_factory()

    response = browser.login(user.email)

    assert response.status_code == 200
    assert response.json() == {"mfa_required": True, "methods": ["passkey"]}
    assert "access_token" not in response.cookies
    assert response.cookies["mfa_challenge"].value


def test_with_an_app_too_every_method_is_offered(
    client_factory, logged_in, registered, user, clock
):
    enrol(logged_in, clock)

    response = client_factory().login(user.email)

    assert response.json() == {
        "mfa_required": True,
        "methods": ["totp", "backup_code", "passkey"],
    }


def _mfa_passkey(browser, key, **bend):
    options = browser.post_json("/auth/2fa/passkey/options/")
    assert options.status_code == 200, options.content
    return browser.post_json(
        "/auth/2fa/passkey/", {"credential": key.assertion(options.json(), **bend)}
    ), options.json()


def test_the_passkey_finishes_a_password_login(client_factory, registered, key, user):
    browser = client_factory()
    login_challenged(browser, user.email)

    response, options = _mfa_passkey(browser, key, uv=False)

    assert options["allowCredentials"] == [
        {"id": key.id, "type": "public-key", "transports": ["internal", "hybrid"]}
    ]
    assert options["userVerification"] == "preferred"
    assert response.status_code == 200, response.content
    assert response.json() == {"id": str(user.pk)}
    assert response.cookies["mfa_challenge"].value == ""
    assert claims(browser)["amr"] == ["pwd", "hwk", "mfa"]
    event = events("login_succeeded").last()
    assert event.details["mfa_method"] == "passkey"
    # The login challenge completes once.
    assert_error(browser.post_json("/auth/2fa/passkey/options/"), 401, "mfa_challenge_expired")


def test_the_second_step_refuses_another_users_passkey(client_factory, registered, key, make_user):
    bob = make_user()
    bob_browser = client_factory()
    bob_browser.login(bob.email)
    register_passkey(bob_browser, SoftAuthenticator())
    browser = client_factory()
    login_challenged(browser, bob.email)
    options = browser.post_json("/auth/2fa/passkey/options/").json()

    # Alice's passkey (registered, verified, but not Bob's) answers Bob's challenge.
    response = browser.post_json("/auth/2fa/passkey/", {"credential": key.assertion(options)})

    assert_error(response, 401, "invalid_credential")
    assert "access_token" not in response.cookies
    assert Passkey.objects.get(user__email="alice@example.com").sign_count == 1


def test_the_second_step_refuses_a_bent_answer_and_counts_it(client_factory, registered, key, user):
    browser = client_factory()
    login_challenged(browser, user.email)

    response, _ = _mfa_passkey(browser, key, origin="https://evil.example")

    assert_error(response, 401, "invalid_credential")
    assert events("mfa_passkey_failed").get().user_id == user.pk
    from accounts.models import MfaChallenge

    assert MfaChallenge.objects.get().failures == 1


def test_the_second_step_refuses_a_login_challenge_answer(client_factory, registered, key, user):
    browser = client_factory()
    login_challenged(browser, user.email)
    browser.post_json("/auth/2fa/passkey/options/")
    credential = key.assertion(login_options(browser))

    response = browser.post_json("/auth/2fa/passkey/", {"credential": credential})

    assert_error(response, 401, "invalid_credential")


def test_the_second_step_needs_the_challenge_cookie(client_factory, registered, key):
    browser = client_factory()

    assert_error(browser.post_json("/auth/2fa/passkey/options/"), 401, "mfa_challenge_expired")
    response = browser.post_json("/auth/2fa/passkey/", {"credential": {}})
    assert_error(response, 401, "mfa_challenge_expired")


def test_a_code_account_without_passkey_gets_no_passkey_options(
    client_factory, logged_in, user, clock
):
    enrol(logged_in, clock)
    browser = client_factory()
    login_challenged(browser, user.email)

    assert_error(browser.post_json("/auth/2fa/passkey/options/"), 400, "mfa_not_enabled")


def test_deleting_the_last_passkey_leaves_the_password(logged_in, registered, client_factory, user):
    assert logged_in.delete(f"/auth/passkeys/{registered['id']}/").status_code == 204

    response = client_factory().login(user.email)

    assert response.status_code == 200
    assert response.json() == {"id": str(user.pk)}


# Step-up with a passkey -------------------------------------------------------------------


def _reauth_with(browser, key, **bend):
    options = browser.post_json("/auth/reauth/passkey/options/")
    assert options.status_code == 200, options.content
    return browser.post_json(
        "/auth/reauth/passkey/", {"credential": key.assertion(options.json(), **bend)}
    ), options.json()


def test_a_passkey_renews_the_session_for_step_up(logged_in, registered, key, clock, user):
    clock.advance(seconds=REAUTH_MAX_AGE + 1)
    assert_error(logged_in.post_json("/auth/passkeys/register/options/"), 403, "reauth_required")

    response, options = _reauth_with(logged_in, key, uv=False)

    assert response.status_code == 200, response.content
    assert response.json()["auth_time"] == int(clock.now().timestamp())
    assert options["allowCredentials"][0]["id"] == key.id
    assert options["userVerification"] == "preferred"
    assert logged_in.post_json("/auth/passkeys/register/options/").status_code == 200
    assert events("reauth").filter(user=user).last().details["method"] == "passkey"


def test_the_password_alone_no_longer_steps_up_a_passkey_account(logged_in, registered):
    response = logged_in.post_json("/auth/reauth/", {"password": "correct horse battery"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "password" in response.json()["fields"]


def test_with_an_app_a_code_or_the_passkey_steps_up(logged_in, registered, key, clock):
    enrolled = enrol(logged_in, clock)
    clock.advance(seconds=REAUTH_MAX_AGE + 1)

    assert logged_in.post_json("/auth/reauth/", {"code": enrolled.code(clock)}).status_code == 200
    assert _reauth_with(logged_in, key)[0].status_code == 200


def test_a_step_up_answer_is_bound_to_its_session(client_factory, registered, key, user):
    mine, other = client_factory(), client_factory()
    mine.login(user.email)
    other_login = other.login(user.email)
    assert other_login.json()["mfa_required"] is True  # a passkey account: no session yet
    stranger = client_factory()
    assert passkey_login(stranger, key).status_code == 200
    options = stranger.post_json("/auth/reauth/passkey/options/").json()
    thief = client_factory()
    assert passkey_login(thief, key).status_code == 200

    response = thief.post_json("/auth/reauth/passkey/", {"credential": key.assertion(options)})

    assert_error(response, 401, "invalid_credential")
    assert events("reauth_failed").get().details["reason"] == "challenge"


def test_a_bent_step_up_answer_is_refused(logged_in, registered, key):
    response, _ = _reauth_with(logged_in, key, origin="https://evil.example")

    assert_error(response, 401, "invalid_credential")


def test_step_up_options_need_a_passkey(logged_in):
    assert_error(logged_in.post_json("/auth/reauth/passkey/options/"), 400, "mfa_not_enabled")


def test_passkey_logins_count_in_the_login_metrics(client_factory, registered, key, committed):
    before = scrape()
    with committed():
        assert passkey_login(client_factory(), key).status_code == 200
    assert passkey_login(client_factory(), key, origin="https://evil.example").status_code == 401
    assert passkey_login(client_factory(), key, sign_count=1).status_code == 401
    after = scrape()

    assert moved(before, after, "authsvc_logins_total", outcome="success") == 1
    assert moved(before, after, "authsvc_logins_total", outcome="invalid_credential") == 2
    assert (
        moved(before, after, "authsvc_security_events_total", event="passkey_clone_detected") == 1
    )


def test_purge_expired_removes_only_the_unanswered_expired_challenges(api, clock):
    api.post_json("/auth/passkeys/login/options/")
    clock.advance(seconds=301)
    api.post_json("/auth/passkeys/login/options/")

    call_command("purge_expired", stdout=StringIO())

    assert PasskeyChallenge.objects.count() == 1
    assert PasskeyChallenge.objects.get().expires_at > clock.now()
