"""AUTHSVC_WEBAUTHN_RP_ID and AUTHSVC_WEBAUTHN_ORIGINS: their defaults and the system check
that refuses inconsistent or unsafe values (authsvc.E080-E085)."""

import json

import pytest
from django.test import override_settings

from authsvc.checks import check_webauthn
from tests.authsvc.test_settings import manage


def ids(rp_id, origins, debug=False, configured=True):
    with override_settings(
        AUTHSVC_WEBAUTHN_RP_ID=rp_id,
        AUTHSVC_WEBAUTHN_ORIGINS=origins,
        AUTHSVC_WEBAUTHN_CONFIGURED=configured,
        DEBUG=debug,
    ):
        return [error.id for error in check_webauthn(None)]


@pytest.mark.parametrize(
    ("rp_id", "origins"),
    [
        ("localhost", ["http://localhost:8000"]),
        ("example.com", ["https://example.com"]),
        ("example.com", ["https://app.example.com", "https://auth.example.com:8443"]),
        ("auth.example.co.uk", ["https://auth.example.co.uk"]),
        ("app.localhost", ["http://app.localhost:3000"]),
    ],
)
def test_consistent_values_pass(rp_id, origins):
    assert ids(rp_id, origins) == []


@pytest.mark.parametrize(
    ("rp_id", "origins", "expected"),
    [
        # Not the host nor a parent domain of every origin.
        ("example.com", ["https://example.org"], ["authsvc.E085"]),
        ("app.example.com", ["https://example.com"], ["authsvc.E085"]),
        ("example.com", ["https://notexample.com"], ["authsvc.E085"]),
        ("example.com", ["https://app.example.com", "https://evil.test"], ["authsvc.E085"]),
        # Public suffixes.
        ("com", ["https://example.com"], ["authsvc.E081"]),
        ("co.uk", ["https://example.co.uk"], ["authsvc.E081"]),
        ("github.io", ["https://me.github.io"], ["authsvc.E081"]),
        # Not a domain.
        ("https://example.com", ["https://example.com"], ["authsvc.E080", "authsvc.E085"]),
        ("example.com:443", ["https://example.com"], ["authsvc.E080", "authsvc.E085"]),
        ("192.168.1.10", ["https://192.168.1.10"], ["authsvc.E080"]),
        ("Example.com", ["https://example.com"], ["authsvc.E080", "authsvc.E085"]),
        ("", ["https://example.com"], ["authsvc.E080"]),
        # Origins.
        ("example.com", [], ["authsvc.E082"]),
        ("example.com", ["https://example.com/login"], ["authsvc.E083"]),
        ("example.com", ["*"], ["authsvc.E083"]),
        ("example.com", ["http://example.com"], ["authsvc.E084"]),
    ],
)
def test_inconsistent_or_unsafe_values_are_refused(rp_id, origins, expected):
    assert ids(rp_id, origins) == expected


def test_plain_http_is_allowed_in_debug_and_for_localhost():
    assert ids("example.com", ["http://app.example.com"], debug=True) == []
    assert ids("localhost", ["http://localhost:8000"], debug=False) == []


def test_derived_defaults_are_only_warned_about():
    # A front end whose CORS origins are on another domain, and no passkey settings: the
    # service still starts (warnings), and the browser refuses the ceremonies anyway.
    assert ids("localhost", ["https://app.example.com"], configured=False) == ["authsvc.W085"]
    assert ids("com", ["https://example.com"], configured=False) == ["authsvc.W081"]


def test_defaults_come_from_the_front_end_url_and_cors_origins(tmp_path):
    code = (
        "import json; from django.conf import settings; "
        "print(json.dumps([settings.AUTHSVC_WEBAUTHN_RP_ID, settings.AUTHSVC_WEBAUTHN_ORIGINS]))"
    )
    env = {
        "DJANGO_SECRET_KEY": "x" * 60,
        "AUTHSVC_FRONTEND_URL": "https://app.example.com/welcome/",
        "AUTHSVC_CORS_ALLOWED_ORIGINS": "https://app.example.com,https://admin.example.com/",
    }

    result = manage("shell", "-c", code, env_overrides=env, tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        "app.example.com",
        ["https://app.example.com", "https://admin.example.com"],
    ]
    # ...which the check warns about: admin.example.com is not under app.example.com.
    result = manage("check", env_overrides=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "authsvc.W085" in result.stderr
    # Set explicitly, the same mismatch refuses to start.
    env["AUTHSVC_WEBAUTHN_ORIGINS"] = "https://app.example.com,https://admin.example.com"
    result = manage("check", env_overrides=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "authsvc.E085" in result.stderr
    env["AUTHSVC_WEBAUTHN_RP_ID"] = "example.com"
    result = manage("check", env_overrides=env, tmp_path=tmp_path)
    assert "08" not in result.stderr, result.stderr
