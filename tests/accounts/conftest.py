"""Operators: an admin-role user logged in to the API, and a staff user in the admin."""

from base64 import b32encode

import pyotp
import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.roles import user_roles_set
from authsvc import clock
from tests.conftest import DEFAULT_PASSWORD, AuthClient


@pytest.fixture
def admin_user(make_user):
    operator = make_user(email="operator@example.com", name="Operator", is_staff=True)
    user_roles_set(user=operator, roles=["user", "admin"])
    return operator


@pytest.fixture
def admin_api(admin_user):
    """A second browser, logged in as `admin_user` (the `api` fixture stays the user's)."""
    client = AuthClient()
    response = client.login(admin_user.email)
    assert response.status_code == 200, response.content
    return client


@pytest.fixture
def staff(make_user):
    return make_user(email="staff@example.com", is_staff=True, is_superuser=True)


def authenticator_for(user) -> pyotp.TOTP:
    """A confirmed TOTP device for `user`, and the app that shows its codes."""
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return pyotp.TOTP(b32encode(device.bin_key).decode())


def admin_log_in(client, user, totp=None, password=DEFAULT_PASSWORD, **offset):
    """The admin login as a browser does it: the password, then (with `totp`) the code."""
    response = client.post("/admin/login/", {"username": user.email, "password": password})
    assert response.status_code == 302, response.content
    if totp is None:
        return response
    assert response["Location"] == "/admin/login/2fa/"
    from datetime import timedelta

    response = client.post(
        "/admin/login/2fa/", {"code": totp.at(clock.now() + timedelta(**offset))}
    )
    assert response.status_code == 302, response.content
    assert response["Location"] == "/admin/"
    return response


@pytest.fixture
def staff_totp(staff):
    return authenticator_for(staff)


@pytest.fixture
def staff_client(staff, staff_totp):
    """A browser logged in to the admin as `staff`, through the real two-step login."""
    client = Client()
    admin_log_in(client, staff, staff_totp)
    return client


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed(): ...` runs what the code left for `transaction.on_commit`, as the
    commit of a real request would (audit events recorded inside a transaction)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
