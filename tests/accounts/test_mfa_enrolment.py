from urllib.parse import parse_qs, unquote, urlparse
from xml.etree import ElementTree

import pyotp
import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import BackupCode
from sessions_store.models import Session
from tests.accounts.mfa_helpers import enrol
from tests.tokens.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_setup_returns_an_app_uri_its_secret_and_a_local_svg_qr(logged_in, user, settings):
    response = logged_in.post_json("/auth/2fa/totp/setup/")

    assert response.status_code == 200
    body = response.json()
    uri = urlparse(body["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == f"/{settings.AUTHSVC_MFA_ISSUER}:{user.email}"
    query = parse_qs(uri.query)
    assert query["issuer"] == [settings.AUTHSVC_MFA_ISSUER]
    assert query["secret"] == [body["secret"]]
    assert len(pyotp.TOTP(body["secret"]).now()) == 6
    svg = ElementTree.fromstring(body["qr_svg"])  # noqa: S314 (our own output)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert "http" not in body["qr_svg"].replace("http://www.w3.org/2000/svg", "")
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False
    assert logged_in.get("/auth/self/").json()["mfa_enabled"] is False


def test_setup_again_replaces_the_pending_device(logged_in, user):
    first = logged_in.post_json("/auth/2fa/totp/setup/").json()["secret"]
    second = logged_in.post_json("/auth/2fa/totp/setup/").json()["secret"]

    assert first != second
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_confirm_with_the_apps_code_turns_2fa_on(logged_in, user, clock, client_factory):
    elsewhere = client_factory()
    elsewhere.login(user.email)

    enrolled = enrol(logged_in, clock)

    assert len(enrolled.backup_codes) == 10
    assert len(set(enrolled.backup_codes)) == 10
    # Stored hashed: no code appears in the database.
    stored = list(BackupCode.objects.values_list("digest", flat=True))
    assert len(set(stored)) == 10
    assert not any(
        code in digest or code.replace("-", "") in digest
        for code in enrolled.backup_codes
        for digest in stored
    )
    assert logged_in.get("/auth/self/").json()["mfa_enabled"] is True
    # The other session was opened without the second factor: it is over.
    assert elsewhere.get("/auth/self/").status_code == 401
    assert Session.objects.filter(user=user, revoked_at__isnull=True).count() == 1


def test_confirm_with_a_wrong_code_is_400_and_leaves_2fa_off(logged_in, user, clock):
    logged_in.post_json("/auth/2fa/totp/setup/")

    response = logged_in.post_json("/auth/2fa/totp/confirm/", {"code": "000000"})

    assert_error(response, 400, "invalid_code")
    assert TOTPDevice.objects.get(user=user).confirmed is False
    assert logged_in.get("/auth/self/").json()["mfa_enabled"] is False


def test_confirm_before_setup_is_refused(logged_in):
    response = logged_in.post_json("/auth/2fa/totp/confirm/", {"code": "123456"})

    assert_error(response, 400, "mfa_not_enabled")


def test_setup_or_confirm_while_enabled_is_409(logged_in, clock):
    enrolled = enrol(logged_in, clock)

    assert_error(logged_in.post_json("/auth/2fa/totp/setup/"), 409, "mfa_already_enabled")
    response = logged_in.post_json("/auth/2fa/totp/confirm/", {"code": enrolled.code(clock)})
    assert_error(response, 409, "mfa_already_enabled")


def test_enrolment_needs_a_login_and_csrf(client_factory, logged_in):
    assert_error(client_factory().post_json("/auth/2fa/totp/setup/"), 401, "not_authenticated")
    response = logged_in.post_json("/auth/2fa/totp/setup/", no_csrf=True)
    assert_error(response, 403, "csrf_failed")


@pytest.mark.parametrize("body", [{}, {"code": 123456}, {"code": "1" * 33}, {"code": None}])
def test_malformed_code_input_is_400(logged_in, body):
    logged_in.post_json("/auth/2fa/totp/setup/")

    response = logged_in.post_json("/auth/2fa/totp/confirm/", body)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert list(response.json()["fields"]) == ["code"]
