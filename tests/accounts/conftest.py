"""Operators: an admin-role user logged in to the API, and a staff user in the admin."""

import pytest
from django.test import Client

from accounts.roles import user_roles_set
from tests.accounts.mfa_helpers import admin_log_in, authenticator_for
from tests.conftest import AuthClient


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
