"""The user's passkeys on the admin's user page: shown read-only, deleted by an operator
through the same service as the user's own delete, audited with the operator's id."""

import pytest

from accounts.models import Passkey
from audit.models import AuthEvent
from tests.accounts.webauthn_helpers import SoftAuthenticator, passkey_login, register_passkey

pytestmark = pytest.mark.django_db

USERS = "/admin/accounts/user/"


@pytest.fixture
def key():
    return SoftAuthenticator()


@pytest.fixture
def registered(logged_in, key):
    return register_passkey(logged_in, key, name="Alice's phone")


def _form(user, passkey_id, *, delete: bool) -> dict:
    data = {
        "email": user.email,
        "name": user.name,
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "passkeys-TOTAL_FORMS": "1",
        "passkeys-INITIAL_FORMS": "1",
        "passkeys-MIN_NUM_FORMS": "0",
        "passkeys-MAX_NUM_FORMS": "0",
        "passkeys-0-id": passkey_id,
        "passkeys-0-user": str(user.pk),
    }
    if delete:
        data["passkeys-0-DELETE"] = "on"
    return data


def test_the_user_page_lists_the_passkeys(staff_client, user, registered):
    response = staff_client.get(f"{USERS}{user.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Alice&#x27;s phone" in page
    assert "device-bound (hwk)" in page
    assert 'name="passkeys-0-DELETE"' in page
    # Nothing to add and no field to edit: only the user's browser makes a passkey.
    assert 'name="passkeys-0-name"' not in page
    assert "passkeys-empty" not in page or "Add another" not in page


def test_a_user_without_passkeys_has_no_passkey_table(staff_client, user):
    page = staff_client.get(f"{USERS}{user.pk}/change/").content.decode()

    assert "passkeys-TOTAL_FORMS" not in page


def test_an_operator_deletes_a_lost_passkey(
    staff_client, staff, user, registered, key, api, committed
):
    with committed():
        response = staff_client.post(
            f"{USERS}{user.pk}/change/", _form(user, registered["id"], delete=True)
        )

    assert response.status_code == 302, response.content.decode()[-3000:]
    assert not Passkey.objects.exists()
    event = AuthEvent.objects.get(type="passkey_deleted")
    assert event.user_id == user.pk
    assert event.details["by"] == str(staff.pk)
    assert event.details["passkey_id"] == registered["id"]
    assert passkey_login(api, key).status_code == 401
    # The password alone signs in again.
    assert api.login(user.email).json() == {"id": str(user.pk)}


def test_saving_the_page_without_deleting_keeps_the_passkey(staff_client, user, registered):
    response = staff_client.post(
        f"{USERS}{user.pk}/change/", _form(user, registered["id"], delete=False)
    )

    assert response.status_code == 302
    assert Passkey.objects.get().name == "Alice's phone"
    assert not AuthEvent.objects.filter(type="passkey_deleted").exists()


def test_reset_2fa_removes_the_passkeys_and_ends_every_session(logged_in, registered, user):
    from accounts.mfa.services import mfa_reset

    assert mfa_reset(user=user, by=None) is True

    assert not Passkey.objects.filter(user=user).exists()
    assert logged_in.get("/auth/self/").status_code == 401
    # The password alone signs in again, until the user enrols a new factor.
    from tests.conftest import AuthClient

    response = AuthClient().login(user.email)
    assert response.status_code == 200 and response.json() == {"id": str(user.pk)}
