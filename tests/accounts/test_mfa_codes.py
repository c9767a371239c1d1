"""The arithmetic under 2FA: RFC 6238 TOTP, the ±1 window, backup codes, the throttle."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa.codes import (
    backup_code_clean,
    backup_code_hash,
    backup_codes_generate,
    throttle_wait,
    totp_matching_step,
)
from authsvc.ratelimit import backoff_delay

# RFC 6238 appendix B, HMAC-SHA1, 8 digits, seed "12345678901234567890".
RFC6238_SEED = b"12345678901234567890".hex()
RFC6238_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


@pytest.mark.parametrize(("unix_time", "code"), RFC6238_VECTORS)
def test_rfc6238_vectors(unix_time, code):
    device = TOTPDevice(key=RFC6238_SEED, digits=8, step=30, t0=0)

    assert totp_matching_step(device, code, now=at(unix_time)) == unix_time // 30


def test_a_code_of_the_neighbouring_steps_counts_and_no_further():
    device = TOTPDevice(key=RFC6238_SEED, digits=8)
    code, step = "07081804", 1111111109 // 30  # the code of step 37037036

    assert totp_matching_step(device, code, now=at((step + 1) * 30)) == step
    assert totp_matching_step(device, code, now=at((step - 1) * 30)) == step
    assert totp_matching_step(device, code, now=at((step + 2) * 30)) is None
    assert totp_matching_step(device, code, now=at((step - 2) * 30)) is None


def test_a_step_at_or_before_the_last_accepted_one_is_refused():
    device = TOTPDevice(key=RFC6238_SEED, digits=8)
    device.last_t = 1111111109 // 30

    assert totp_matching_step(device, "07081804", now=at(1111111109)) is None


@pytest.mark.parametrize("code", ["", "1234567", "123456789", "abcdefgh", "١٢٣٤٥٦٧٨", "+7081804"])
def test_malformed_codes_never_match(code):
    assert totp_matching_step(TOTPDevice(key=RFC6238_SEED, digits=8), code, now=at(59)) is None


def test_spaces_in_a_code_are_ignored():
    device = TOTPDevice(key=RFC6238_SEED, digits=8)

    assert totp_matching_step(device, "9428 7082", now=at(59)) == 1


def test_backup_codes_are_random_readable_and_hashed_forgivingly():
    codes = backup_codes_generate(10)

    assert len(set(codes)) == 10
    assert all(len(code) == 11 and code[5] == "-" for code in codes)
    assert not set("".join(codes)) & set("ilou")
    code = codes[0]
    assert backup_code_hash(code.upper().replace("-", " ")) == backup_code_hash(code)
    assert backup_code_clean("O1L-I0") == "01110"
    assert len(backup_code_hash(code)) == 16
    assert code not in backup_code_hash(code)


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(0, 0), (1, 0), (3, 0), (4, 2), (5, 4), (8, 32), (14, 2048), (15, 3600), (10_000, 3600)],
)
def test_throttle_is_free_for_typos_then_doubles_up_to_an_hour(failures, delay):
    delay_now = backoff_delay(
        failures,
        free=settings.AUTHSVC_MFA_FREE_FAILURES,
        ceiling=settings.AUTHSVC_MFA_MAX_DELAY_SECONDS,
    )

    assert delay_now == delay


def test_throttle_wait_counts_from_the_last_failure():
    last = at(1_000_000)
    device = TOTPDevice(throttling_failure_count=5, throttling_failure_timestamp=last)

    assert throttle_wait(device, now=last) == 4
    assert throttle_wait(device, now=last + timedelta(seconds=3.5)) == 1
    assert throttle_wait(device, now=last + timedelta(seconds=4)) == 0
