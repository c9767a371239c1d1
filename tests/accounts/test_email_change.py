"""Changing the email: asked for with the password by a fresh session, done by the link
mailed to the new address."""

import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import mail

from accounts.models import User
from audit.models import AuthEvent
from sessions_store.models import Session
from tests.conftest import DEFAULT_PASSWORD, AuthClient, lockout_failures
from tests.tokens.conftest import assert_error

pytestmark = pytest.mark.django_db

NEW = "alice.new@example.com"


@pytest.fixture
def change(django_capture_on_commit_callbacks):
    """POST /auth/email/change/, its mail sent on commit as a request's would be."""

    def ask(browser, new_email=NEW, password=DEFAULT_PASSWORD):
        with django_capture_on_commit_callbacks(execute=True):
            body = {"new_email": new_email, "password": password}
            return browser.post_json("/auth/email/change/", body)

    return ask


def confirm(key, browser=None):
    return (browser or AuthClient()).post_json("/auth/email/change/confirm/", {"key": key})


def link_key(message) -> str:
    url = urlparse(re.search(r"https?://\S+", message.body).group(0))
    assert f"{url.scheme}://{url.netloc}/" == "http://localhost:8000/"  # AUTHSVC_FRONTEND_URL
    assert url.path == "/email/change/confirm/"
    return parse_qs(url.query)["key"][0]


@pytest.fixture
def requested(change):
    """Ask for a change; returns the key of the link mailed to the new address."""

    def ask(browser, new_email=NEW) -> str:
        mail.outbox.clear()
        response = change(browser, new_email)
        assert response.status_code == 202, response.content
        [message] = [m for m in mail.outbox if m.to == [new_email.strip().lower()]]
        return link_key(message)

    return ask


def test_a_change_mails_a_link_to_the_new_address_and_a_notice_to_the_old(logged_in, user, change):
    response = change(logged_in)

    assert response.status_code == 202
    assert set(response.json()) == {"detail"}
    confirmation, notice = mail.outbox
    assert confirmation.to == [NEW]
    assert link_key(confirmation)
    assert notice.to == ["alice@example.com"]
    assert NEW in notice.body and "reset your password" in notice.body
    assert "http" not in notice.body  # nothing to click for whoever reads the old mailbox
    # Nothing changes until the link is used.
    assert User.objects.get(pk=user.pk).email == "alice@example.com"
    assert logged_in.get("/auth/self/").json()["email"] == "alice@example.com"
    assert AuthEvent.objects.filter(type="email_change_requested", user=user).exists()


def test_the_link_changes_the_email_and_ends_the_other_sessions(
    logged_in, user, client_factory, requested, committed
):
    other = client_factory()
    assert other.login(user.email).status_code == 200
    User.objects.filter(pk=user.pk).update(email_verified=False)
    key = requested(logged_in)

    with committed():
        response = confirm(key)

    assert response.status_code == 200
    assert set(response.json()) == {"detail"}
    changed = User.objects.get(pk=user.pk)
    assert (changed.email, changed.email_verified) == (NEW, True)
    # The asking session stays, its cached snapshot already says so.
    assert logged_in.get("/auth/self/").json()["email"] == NEW
    assert logged_in.get("/auth/self/").json()["email_verified"] is True
    assert_error(other.get("/auth/self/"), 401, "invalid_token")
    assert Session.objects.get(user=user, revoked_at__isnull=False).revoked_reason == (
        "email_changed"
    )
    assert AuthEvent.objects.get(type="email_changed").details == {"revoked": 1}
    # The new address logs in; the old one is nobody's.
    assert client_factory().login(NEW).status_code == 200
    assert_error(client_factory().login("alice@example.com"), 401, "invalid_credentials")


def test_the_new_address_is_normalised(logged_in, user, requested):
    key = requested(logged_in, new_email="  Alice.New@EXAMPLE.com ")

    assert confirm(key).status_code == 200

    assert User.objects.get(pk=user.pk).email == NEW


def test_a_link_works_once(logged_in, requested):
    key = requested(logged_in)
    assert confirm(key).status_code == 200

    assert_error(confirm(key), 400, "invalid_token")


def test_confirming_one_link_voids_the_others(logged_in, user, requested):
    first = requested(logged_in, "first@example.com")
    second = requested(logged_in, "second@example.com")

    assert confirm(second).status_code == 200

    assert_error(confirm(first), 400, "invalid_token")
    assert User.objects.get(pk=user.pk).email == "second@example.com"


def test_links_expire(logged_in, user, clock, settings, requested):
    key = requested(logged_in)
    clock.advance(seconds=settings.AUTHSVC_EMAIL_CHANGE_TTL_SECONDS + 1)

    assert_error(confirm(key), 400, "invalid_token")

    assert User.objects.get(pk=user.pk).email == "alice@example.com"


@pytest.mark.parametrize("key", ["nonsense", "", "a" * 1025])
def test_forged_or_malformed_keys(logged_in, key):
    response = confirm(key)

    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_token", "invalid_request"}


def test_a_tampered_key_is_invalid(logged_in, user, requested):
    key = requested(logged_in)

    assert_error(
        confirm(key[:-2] + ("xx" if not key.endswith("xx") else "yy")), 400, "invalid_token"
    )
    assert AuthEvent.objects.filter(type="email_change_failed").exists()


def test_a_password_reset_voids_a_pending_change(logged_in, user, client_factory, requested):
    # The notice tells an owner who did not ask to reset the password: that must stop
    # whoever knew the old password from finishing the change.
    from accounts.passwords import reset_uid
    from accounts.tokens import reset_tokens

    key = requested(logged_in, "thief@example.com")
    user.refresh_from_db()
    body = {
        "uid": reset_uid(user),
        "token": reset_tokens.make_token(user),
        "new_password": "a whole new passphrase",
    }
    assert client_factory().post_json("/auth/password/reset/confirm/", body).status_code == 200

    assert_error(confirm(key), 400, "invalid_token")
    assert User.objects.get(pk=user.pk).email == "alice@example.com"


def test_a_wrong_password_is_401_counted_by_the_lockout_and_sends_nothing(logged_in, user, change):
    assert_error(change(logged_in, password="wrong"), 401, "invalid_credentials")

    assert mail.outbox == []
    assert lockout_failures(user.email) == 1
    assert AuthEvent.objects.get(type="email_change_failed").details == {"reason": "wrong_password"}


@pytest.mark.parametrize("new_email", ["not an address", "a@b@example.com", "alice@example.com"])
def test_a_bad_address_is_400_naming_the_field(logged_in, new_email, change):
    response = change(logged_in, new_email)

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_request"
    assert set(body["fields"]) == {"new_email"}
    assert mail.outbox == []


def test_an_address_another_account_has_is_409(logged_in, make_user, change):
    make_user(email=NEW)

    assert_error(change(logged_in, "Alice.New@example.com"), 409, "email_taken")

    assert mail.outbox == []


def test_an_address_taken_before_the_link_is_used_is_409(logged_in, user, make_user, requested):
    key = requested(logged_in)
    make_user(email=NEW)

    assert_error(confirm(key), 409, "email_taken")

    assert User.objects.get(pk=user.pk).email == "alice@example.com"


def test_a_banned_accounts_link_is_invalid(logged_in, user, requested):
    from accounts.bans import user_ban

    key = requested(logged_in)
    user_ban(user=user, reason="abuse", by=None)

    assert_error(confirm(key), 400, "invalid_token")


def test_changes_are_limited_per_user(logged_in, settings, change):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "email_change_user": "2/h"}
    for n in range(2):
        assert change(logged_in, f"new{n}@example.com").status_code == 202

    response = change(logged_in, "new3@example.com")

    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1


def test_confirmations_are_limited_per_ip(logged_in, settings):
    settings.AUTHSVC_RATE_LIMITS = {
        **settings.AUTHSVC_RATE_LIMITS,
        "email_change_confirm_ip": "2/h",
    }
    for _ in range(2):
        assert_error(confirm("nonsense"), 400, "invalid_token")

    assert_error(confirm("nonsense"), 429, "rate_limited")


def test_a_change_needs_a_session_and_csrf(logged_in, requested):
    body = {"new_email": NEW, "password": DEFAULT_PASSWORD}
    assert_error(AuthClient().post_json("/auth/email/change/", body), 401, "not_authenticated")
    response = logged_in.post_json("/auth/email/change/", body, no_csrf=True)
    assert_error(response, 403, "csrf_failed")
    key = requested(logged_in)
    response = AuthClient().post_json("/auth/email/change/confirm/", {"key": key}, no_csrf=True)
    assert_error(response, 403, "csrf_failed")


def test_a_stale_session_reauths_then_changes(logged_in, user, clock, change, requested):
    clock.advance(seconds=301)
    assert_error(change(logged_in), 403, "reauth_required")
    assert logged_in.post_json("/auth/reauth/", {"password": DEFAULT_PASSWORD}).status_code == 200

    assert confirm(requested(logged_in)).status_code == 200

    assert User.objects.get(pk=user.pk).email == NEW
