"""The arithmetic under 2FA: RFC 6238 TOTP, the ±1 window, backup codes, the throttle."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa.codes import (
    BACKUP_CODE_ITERATIONS,
    backup_code_clean,
    backup_code_consume,
    backup_code_digest,
    backup_code_matches,
    backup_codes_generate,
    backup_codes_replace,
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
    stored = backup_code_digest(code)
    assert backup_code_matches(code.upper().replace("-", " "), stored)
    assert backup_code_clean("O1L-I0") == "01110"
    assert code not in stored and code.replace("-", "") not in stored


def test_backup_codes_are_salted_peppered_and_stretched(settings):
    code = backup_codes_generate(1)[0]
    first, second = backup_code_digest(code), backup_code_digest(code)

    # A random salt per code: the same code is stored differently each time.
    assert first != second
    scheme, iterations, salt, digest = first.split("$")
    assert (scheme, int(iterations)) == ("pbkdf2_sha256", BACKUP_CODE_ITERATIONS)
    assert len(digest) == 64 and len(salt) >= 22
    assert backup_code_matches(code, first) and backup_code_matches(code, second)
    assert not backup_code_matches(backup_codes_generate(1)[0], first)
    # The pepper is part of the hash: without it (another key) nothing matches.
    settings.AUTHSVC_MFA_BACKUP_CODE_PEPPER = "another pepper"
    assert not backup_code_matches(code, first)


@pytest.mark.parametrize("stored", ["", "garbage", "a$b$c$d", "pbkdf2_sha256$999999999$AA$00"])
def test_a_malformed_stored_code_matches_nothing(stored):
    assert not backup_code_matches("abcde-12345", stored)


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


# --- backup codes in the database -----------------------------------------------------


@pytest.fixture
def static_device(db, user):
    from django_otp.plugins.otp_static.models import StaticDevice

    return StaticDevice.objects.create(user=user, name="Backup codes")


def _counting_matches(monkeypatch) -> list:
    import accounts.mfa.codes as codes_module

    calls = []
    real = codes_module.backup_code_matches

    def counted(code, stored):
        calls.append(stored)
        return real(code, stored)

    monkeypatch.setattr(codes_module, "backup_code_matches", counted)
    return calls


@pytest.mark.parametrize("which", ["first", "last", "none"])
def test_a_backup_code_check_does_the_same_work_whichever_code_matches(
    static_device, monkeypatch, which
):
    codes = backup_codes_replace(device=static_device, count=10)
    calls = _counting_matches(monkeypatch)
    code = {"first": codes[0], "last": codes[-1], "none": "zzzzz-zzzzz"}[which]

    assert backup_code_consume(static_device, code) is (which != "none")

    assert len(calls) == settings.AUTHSVC_MFA_BACKUP_CODE_COUNT


def test_the_work_does_not_say_how_many_codes_are_left_or_whether_there_are_any(
    static_device, monkeypatch
):
    codes = backup_codes_replace(device=static_device, count=10)
    for code in codes[:7]:
        assert backup_code_consume(static_device, code)
    calls = _counting_matches(monkeypatch)

    assert not backup_code_consume(static_device, codes[0])  # single use
    assert backup_code_consume(static_device, codes[9])
    assert not backup_code_consume(None, codes[8])  # no device at all

    assert len(calls) == 3 * settings.AUTHSVC_MFA_BACKUP_CODE_COUNT


def test_regenerating_voids_the_old_codes(static_device):
    old = backup_codes_replace(device=static_device, count=10)
    new = backup_codes_replace(device=static_device, count=10)

    assert not backup_code_consume(static_device, old[0])
    assert backup_code_consume(static_device, new[0])
    assert static_device.backup_codes.count() == 9


def test_the_migration_keeps_django_otp_codes_working_without_their_unsalted_hash(
    static_device,
):
    # What the previous release stored: the first 16 hex digits of SHA-256 of the code.
    import hashlib
    import importlib

    from django.apps import apps
    from django_otp.plugins.otp_static.models import StaticToken

    codes = backup_codes_generate(3)
    prefixes = [hashlib.sha256(c.replace("-", "").encode()).hexdigest()[:16] for c in codes]
    for prefix in prefixes:
        StaticToken.objects.create(device=static_device, token=prefix)

    migration = importlib.import_module("accounts.migrations.0004_backup_codes_holes")
    migration.wrap_static_tokens(apps, None)

    assert not StaticToken.objects.exists()
    stored = list(static_device.backup_codes.values_list("digest", flat=True))
    assert len(stored) == 3
    assert not any(prefix in digest for prefix in prefixes for digest in stored)
    assert all(digest.startswith("pbkdf2_sha256_legacy$") for digest in stored)
    assert backup_code_consume(static_device, codes[1].upper())
    assert not backup_code_consume(static_device, codes[1])
    assert static_device.backup_codes.count() == 2
