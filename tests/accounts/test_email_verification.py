import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import mail

from accounts.models import User

pytestmark = pytest.mark.django_db


def verify_key(message) -> str:
    url = re.search(r"https?://\S+", message.body).group(0)
    parsed = urlparse(url)
    assert parsed.path == "/email/verify/"
    return parse_qs(parsed.query)["key"][0]


def test_registration_sends_a_link_that_verifies(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.register(email="new@example.com")
    [message] = mail.outbox
    assert message.to == ["new@example.com"]
    assert api.get("/auth/self/").json()["email_verified"] is False

    response = api.post_json("/auth/email/verify/", {"key": verify_key(message)})

    assert response.status_code == 200
    assert User.objects.get().email_verified is True
    assert api.get("/auth/self/").json()["email_verified"] is True
    # The next access token says so too.
    api.post_json("/auth/refresh/")
    import jwt

    claims = jwt.decode(api.cookie("access_token"), options={"verify_signature": False})
    assert claims["email_verified"] is True


def test_bad_and_expired_keys(api, user, clock):
    from accounts.verification import email_verification_send

    email_verification_send(user=user)
    key = verify_key(mail.outbox[0])

    for bad in ("nonsense", key[:-2] + ("yy" if key.endswith("xx") else "xx")):
        response = api.post_json("/auth/email/verify/", {"key": bad})
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_token"

    clock.advance(days=3, seconds=1)
    assert api.post_json("/auth/email/verify/", {"key": key}).json()["error"] == "invalid_token"
    assert User.objects.get(pk=user.pk).email_verified is False


def test_key_dies_when_the_email_changes(api, user):
    from accounts.verification import email_verification_send

    email_verification_send(user=user)
    key = verify_key(mail.outbox[0])
    User.objects.filter(pk=user.pk).update(email="changed@example.com")

    assert api.post_json("/auth/email/verify/", {"key": key}).json()["error"] == "invalid_token"


def test_resend_sends_a_new_link_and_is_rate_limited(logged_in, user):
    answers = [logged_in.post_json("/auth/email/verify/resend/") for _ in range(4)]

    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert answers[-1]["Retry-After"]
    assert len(mail.outbox) == 3


def test_resend_for_a_verified_email(logged_in, user):
    User.objects.filter(pk=user.pk).update(email_verified=True)

    response = logged_in.post_json("/auth/email/verify/resend/")

    assert response.status_code == 200
    assert mail.outbox == []


def test_resend_needs_authentication(api):
    assert api.post_json("/auth/email/verify/resend/").status_code == 401


def test_login_can_require_a_verified_email(api, user, settings, client_factory):
    settings.AUTHSVC_LOGIN_REQUIRES_VERIFIED_EMAIL = True

    refused = api.login(user.email)

    assert refused.status_code == 403
    assert refused.json()["error"] == "email_not_verified"
    User.objects.filter(pk=user.pk).update(email_verified=True)
    assert client_factory().login(user.email).status_code == 200


def test_registration_without_login_when_verification_is_required(api, settings):
    settings.AUTHSVC_LOGIN_REQUIRES_VERIFIED_EMAIL = True

    response = api.register(email="later@example.com")

    assert response.status_code == 201
    assert response.json() == {
        "id": str(User.objects.get().pk),
        "email_verification_required": True,
    }
    assert "access_token" not in response.cookies
