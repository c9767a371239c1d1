import pytest
from django.contrib.auth.hashers import make_password

from accounts.models import User
from sessions_store.models import Session
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

INVALID_CREDENTIALS = {
    "error": "invalid_credentials",
    "detail": "The email or password is incorrect.",
}


def test_login_sets_cookies_and_creates_a_session(api, user):
    response = api.login("alice@example.com")

    assert response.status_code == 200
    assert response.json() == {"id": str(user.pk)}
    assert set(response.cookies) >= {"access_token", "refresh_token"}
    session = Session.objects.get(user=user)
    assert session.amr == ["pwd"]
    assert session.user_agent == ""
    assert session.ip == "127.0.0.1"
    user.refresh_from_db()
    assert user.last_login is not None


def test_login_email_is_case_insensitive(api, user):
    assert api.login("  ALICE@example.COM").status_code == 200


def test_unknown_email_and_wrong_password_answer_identically(api, user, monkeypatch):
    hashed = []
    real_encode = type(user).set_password

    def counting_set_password(self, raw):
        hashed.append(raw)
        return real_encode(self, raw)

    monkeypatch.setattr(User, "set_password", counting_set_password)

    unknown = api.login("nobody@example.com", "some password here")
    wrong = api.login("alice@example.com", "wrong password here")

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json() == INVALID_CREDENTIALS
    # The unknown email still paid for one hash, so it takes as long as a wrong password.
    assert hashed == ["some password here"]
    assert "access_token" not in unknown.cookies and "access_token" not in wrong.cookies


def test_banned_user_gets_account_disabled_only_with_the_right_password(api, make_user):
    make_user(email="banned@example.com", is_active=False)

    wrong = api.login("banned@example.com", "not the password")
    right = api.login("banned@example.com")

    assert wrong.status_code == 401 and wrong.json() == INVALID_CREDENTIALS
    assert right.status_code == 403
    assert right.json() == {"error": "account_disabled", "detail": "This account is disabled."}
    assert "access_token" not in right.cookies


def test_user_without_password_cannot_log_in(api, make_user):
    make_user(email="social@example.com", password=None)

    response = api.login("social@example.com", "")

    assert response.status_code == 400  # blank password is a validation error
    response = api.login("social@example.com", "anything at all")
    assert response.status_code == 401
    assert response.json() == INVALID_CREDENTIALS


def test_older_hashes_are_upgraded_on_login(api, make_user):
    user = make_user(email="legacy@example.com")
    User.objects.filter(pk=user.pk).update(
        password=make_password(DEFAULT_PASSWORD, hasher="pbkdf2_sha256")
    )

    assert api.login("legacy@example.com").status_code == 200

    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")


def test_weaker_argon2_parameters_are_upgraded_on_login(api, make_user, settings):
    settings.AUTHSVC_ARGON2_MEMORY_KIB = 8192
    user = make_user(email="weak@example.com")
    assert "m=8192" in user.password
    settings.AUTHSVC_ARGON2_MEMORY_KIB = 19456

    assert api.login("weak@example.com").status_code == 200

    user.refresh_from_db()
    assert "m=19456,t=2,p=1" in user.password


def test_login_requires_csrf(api, user):
    response = api.post_json(
        "/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD}, no_csrf=True
    )

    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"
    assert not Session.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"email": "alice@example.com"},
        {"email": ["alice@example.com"], "password": "x"},
        {"email": "alice@example.com", "password": None},
    ],
)
def test_login_validation_errors(api, user, payload):
    response = api.post_json("/auth/login/", payload)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["fields"]


def test_each_login_is_its_own_session(client_factory, user):
    first, second = client_factory(), client_factory()
    first.login(user.email)
    second.login(user.email)

    assert Session.objects.filter(user=user).count() == 2
    assert first.get("/auth/self/").status_code == 200
    assert second.get("/auth/self/").status_code == 200
