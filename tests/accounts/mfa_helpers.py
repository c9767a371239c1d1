"""Enrol and log in with 2FA the way a browser and an authenticator app would."""

from base64 import b32encode
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import pyotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from authsvc import clock
from tests.conftest import DEFAULT_PASSWORD


@dataclass
class Enrolled:
    totp: pyotp.TOTP
    backup_codes: list[str]

    def code(self, clock, **offset) -> str:
        """The authenticator app's code at the (fake) clock's time, shifted by `offset`."""
        from datetime import timedelta

        return self.totp.at(clock.now() + timedelta(**offset))


def enrol(client, clock) -> Enrolled:
    setup = client.post_json("/auth/2fa/totp/setup/")
    assert setup.status_code == 200, setup.content
    secret = parse_qs(urlparse(setup.json()["otpauth_uri"]).query)["secret"][0]
    totp = pyotp.TOTP(secret)
    confirm = client.post_json("/auth/2fa/totp/confirm/", {"code": totp.at(clock.now())})
    assert confirm.status_code == 200, confirm.content
    # The next code the app shows belongs to a later step: the one above is used up.
    clock.advance(seconds=30)
    return Enrolled(totp=totp, backup_codes=confirm.json()["backup_codes"])


def login_challenged(client, email, password=DEFAULT_PASSWORD):
    response = client.login(email, password)
    assert response.status_code == 200, response.content
    assert response.json() == {"mfa_required": True, "methods": ["totp", "backup_code"]}
    return response


def verify(client, code):
    return client.post_json("/auth/2fa/verify/", {"code": code})


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
