"""Turning 2FA off, renewing backup codes, and the operator's reset."""

import pytest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa.services import mfa_reset
from sessions_store.models import Session
from tests.accounts.mfa_helpers import enrol, login_challenged, verify
from tests.conftest import DEFAULT_PASSWORD
from tests.tokens.conftest import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolled(logged_in, clock):
    return enrol(logged_in, clock)


def disable(client, code, password=DEFAULT_PASSWORD):
    return client.post_json("/auth/2fa/disable/", {"password": password, "code": code})


def test_disable_with_password_and_code(logged_in, user, enrolled, clock, client_factory):
    elsewhere = client_factory()
    login_challenged(elsewhere, user.email)
    assert verify(elsewhere, enrolled.code(clock)).status_code == 200
    clock.advance(seconds=30)

    response = disable(logged_in, enrolled.code(clock))

    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticDevice.objects.filter(user=user).exists()
    assert logged_in.get("/auth/self/").json()["mfa_enabled"] is False
    assert elsewhere.get("/auth/self/").status_code == 401
    # Back to password-only logins.
    assert "id" in client_factory().login(user.email).json()


def test_disable_with_a_backup_code(logged_in, user, enrolled):
    assert disable(logged_in, enrolled.backup_codes[0]).status_code == 200
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_disable_with_a_wrong_password_or_code(logged_in, user, enrolled, clock):
    assert_error(disable(logged_in, enrolled.code(clock), "wrong"), 401, "invalid_credentials")
    assert_error(disable(logged_in, "000000"), 401, "invalid_code")
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    assert Session.objects.filter(user=user, revoked_at__isnull=True).count() == 1


def test_disable_without_2fa(logged_in):
    assert_error(disable(logged_in, "123456"), 400, "mfa_not_enabled")


def test_new_backup_codes_void_the_old_ones(logged_in, user, enrolled, clock, client_factory):
    response = logged_in.post_json("/auth/2fa/backup-codes/", {"code": enrolled.code(clock)})

    assert response.status_code == 200
    fresh = response.json()["backup_codes"]
    assert len(fresh) == 10
    assert not set(fresh) & set(enrolled.backup_codes)
    browser = client_factory()
    login_challenged(browser, user.email)
    assert_error(verify(browser, enrolled.backup_codes[0]), 401, "invalid_code")
    assert verify(browser, fresh[0]).status_code == 200


def test_backup_codes_need_a_right_code(logged_in, enrolled):
    response = logged_in.post_json("/auth/2fa/backup-codes/", {"code": "000000"})

    assert_error(response, 400, "invalid_code")


def test_backup_codes_without_2fa(logged_in):
    response = logged_in.post_json("/auth/2fa/backup-codes/", {"code": "123456"})

    assert_error(response, 400, "mfa_not_enabled")


def test_operator_reset_removes_2fa_and_ends_every_session(
    logged_in, user, enrolled, make_user, client_factory
):
    operator = make_user(email="ops@example.com", is_staff=True)

    assert mfa_reset(user=user, by=operator) is True

    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticDevice.objects.filter(user=user).exists()
    assert logged_in.get("/auth/self/").status_code == 401
    assert "id" in client_factory().login(user.email).json()
    assert mfa_reset(user=user, by=operator) is False
