import pytest

from accounts.models import User
from sessions_store.models import Session
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase"


def change(client, current=DEFAULT_PASSWORD, new=NEW_PASSWORD, **extra):
    return client.post_json(
        "/auth/password/change/", {"current_password": current, "new_password": new}, **extra
    )


def test_change_leaves_exactly_the_current_session(client_factory, user):
    here, elsewhere, other = client_factory(), client_factory(), client_factory()
    for client in (here, elsewhere, other):
        client.login(user.email)

    response = change(here)

    assert response.status_code == 200
    assert Session.objects.filter(revoked_at__isnull=True).count() == 1
    assert here.get("/auth/self/").status_code == 200
    assert here.post_json("/auth/refresh/").status_code == 200
    assert elsewhere.get("/auth/self/").status_code == 401
    assert other.post_json("/auth/refresh/").status_code == 401
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    assert client_factory().login(user.email, NEW_PASSWORD).status_code == 200
    assert client_factory().login(user.email).status_code == 401


def test_wrong_current_password(logged_in, user):
    response = change(logged_in, current="not my password")

    assert response.status_code == 400
    assert response.json()["fields"] == {"current_password": ["The current password is incorrect."]}
    assert User.objects.get(pk=user.pk).check_password(DEFAULT_PASSWORD)


def test_new_password_is_validated_like_registration(logged_in, user):
    response = change(logged_in, new="short")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["new_password"]
    assert User.objects.get(pk=user.pk).check_password(DEFAULT_PASSWORD)


def test_change_needs_csrf_and_authentication(logged_in, client_factory):
    assert change(logged_in, no_csrf=True).status_code == 403
    assert change(client_factory()).status_code == 401
