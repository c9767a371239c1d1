"""The admin's view of 2FA and linked Google accounts: visible, resettable, never secret."""

import pytest
from django.contrib import admin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from social_django.models import UserSocialAuth

from accounts.models import BackupCode
from audit.models import AuthEvent
from sessions_store.models import Session
from tests.accounts.mfa_helpers import enrol

pytestmark = pytest.mark.django_db

USERS = "/admin/accounts/user/"


def test_the_user_page_lists_devices_and_links_but_no_secret(staff_client, logged_in, user, clock):
    enrolled = enrol(logged_in, clock)
    UserSocialAuth.objects.create(
        user=user, provider="google-oauth2", uid="g-123", extra_data={"email": "a@gmail.com"}
    )
    device = TOTPDevice.objects.get(user=user)

    page = staff_client.get(f"{USERS}{user.pk}/change/").content.decode()

    assert "Authenticator app" in page
    assert "confirmed" in page
    assert "10 unused" in page
    assert "google-oauth2" in page and "a@gmail.com" in page
    assert device.key not in page
    assert device.key.upper() not in page
    assert not any(code in page for code in enrolled.backup_codes)
    assert not any(d in page for d in BackupCode.objects.values_list("digest", flat=True))


def test_django_otp_admin_pages_that_show_secrets_are_gone():
    assert not admin.site.is_registered(TOTPDevice)
    assert not admin.site.is_registered(StaticDevice)


def test_reset_2fa_action(staff_client, staff, logged_in, user, clock, client_factory, committed):
    enrol(logged_in, clock)

    with committed():
        response = staff_client.post(
            USERS, {"action": "reset_two_factor", "_selected_action": [str(user.pk)]}, follow=True
        )

    assert response.status_code == 200
    assert "Removed 2FA of 1 user(s)" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticDevice.objects.filter(user=user).exists()
    assert not Session.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert logged_in.get("/auth/self/").status_code == 401
    assert "id" in client_factory().login(user.email).json()
    event = AuthEvent.objects.get(type="mfa_reset")
    assert event.user_id == user.pk
    assert event.details["by"] == str(staff.pk)
