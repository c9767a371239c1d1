"""Checking codes: TOTP on the injectable clock, backup codes stored salted and slowly
hashed, and the per-account throttle that keeps six digits from being guessed.

django-otp's own `verify_token` methods read `time.time()` and check `last_t` without a
row lock, so two requests carrying the same code at once could both pass. Here every
check runs on a device row locked with SELECT ... FOR UPDATE, on `authsvc.clock`.
"""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import BackupCode
from authsvc import clock
from authsvc.ratelimit import backoff_wait

TOTP_METHOD = "totp"
BACKUP_CODE_METHOD = "backup_code"
# ±1 time step: the code before and after the current one, for clocks a little apart.
TOTP_TOLERANCE = 1

# Crockford's base32 without I, L, O, U: nothing a user can misread.
_BACKUP_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_BACKUP_LENGTH = 10  # 50 bits each
_BACKUP_LOOKALIKES = str.maketrans({"i": "1", "l": "1", "o": "0"})
_SEPARATORS = re.compile(r"[\s-]+")


def totp_code_clean(code: str, digits: int = 6) -> str | None:
    code = _SEPARATORS.sub("", code)
    return code if len(code) == digits and code.isascii() and code.isdigit() else None


def totp_matching_step(device: TOTPDevice, code: str, *, now: datetime) -> int | None:
    """The time step `code` belongs to, if it is within ±1 step of now and later than the
    last step accepted (each code works once: django-otp's `last_t`)."""
    cleaned = totp_code_clean(code, device.digits)
    if cleaned is None:
        return None
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, drift=0)
    totp.time = now.timestamp()
    if not totp.verify(int(cleaned), tolerance=TOTP_TOLERANCE, min_t=device.last_t + 1):
        return None
    return totp.t()


def backup_code_clean(code: str) -> str:
    return _SEPARATORS.sub("", code).lower().translate(_BACKUP_LOOKALIKES)


# Backup codes are stored as "<scheme>$<iterations>$<salt>$<digest>": PBKDF2-HMAC-SHA256
# of the code under a random per-code salt, then HMAC-SHA256 under a pepper kept out of the
# database (AUTHSVC_MFA_BACKUP_CODE_PEPPER, else derived from SECRET_KEY). A database dump
# alone gives nothing to guess against; with the pepper too, each code is its own 50-bit
# search at PBKDF2 cost. Iterations are modest because a check hashes against every slot.
BACKUP_CODE_SCHEME = "pbkdf2_sha256"
# Codes moved over from django-otp's StaticToken, whose unsalted 64-bit SHA-256 prefix is
# all that was kept: the same hash over that prefix (accounts/migrations/0004_*_holes.py).
BACKUP_CODE_LEGACY_SCHEME = "pbkdf2_sha256_legacy"
BACKUP_CODE_ITERATIONS = 5_000


def _pepper() -> bytes:
    configured = settings.AUTHSVC_MFA_BACKUP_CODE_PEPPER
    if configured:
        return configured.encode()
    return hashlib.sha256(b"authsvc.mfa.backup-codes:" + settings.SECRET_KEY.encode()).digest()


def _digest(secret: str, salt: bytes, iterations: int) -> str:
    stretched = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, iterations)
    return hmac.new(_pepper(), stretched, hashlib.sha256).hexdigest()


def _encode(scheme: str, secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _digest(secret, salt, BACKUP_CODE_ITERATIONS)
    salt_text = base64.urlsafe_b64encode(salt).decode().rstrip("=")
    return f"{scheme}${BACKUP_CODE_ITERATIONS}${salt_text}${digest}"


def _legacy_prefix(code: str) -> str:
    return hashlib.sha256(backup_code_clean(code).encode()).hexdigest()[:16]


def backup_code_digest(code: str) -> str:
    """The stored form of a new backup code."""
    return _encode(BACKUP_CODE_SCHEME, backup_code_clean(code))


def backup_code_digest_legacy(stored_prefix: str) -> str:
    """The stored form of a code of which only django-otp's StaticToken value is known."""
    return _encode(BACKUP_CODE_LEGACY_SCHEME, stored_prefix)


def backup_code_matches(code: str, stored: str) -> bool:
    """Whether `code` is the one `stored` was made from; a malformed row matches nothing
    but costs the same."""
    try:
        scheme, iterations, salt_text, digest = stored.split("$")
        salt = base64.urlsafe_b64decode(salt_text + "=" * (-len(salt_text) % 4))
        rounds = int(iterations)
    except ValueError:
        scheme, salt, rounds, digest = BACKUP_CODE_SCHEME, b"", BACKUP_CODE_ITERATIONS, ""
    if not 1 <= rounds <= 10 * BACKUP_CODE_ITERATIONS:
        rounds = BACKUP_CODE_ITERATIONS
    if scheme == BACKUP_CODE_LEGACY_SCHEME:
        secret = _legacy_prefix(code)
    else:
        secret = backup_code_clean(code)
    return hmac.compare_digest(_digest(secret, salt, rounds), digest)


def backup_codes_generate(count: int) -> list[str]:
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_BACKUP_ALPHABET) for _ in range(_BACKUP_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def backup_codes_replace(*, device: StaticDevice, count: int) -> list[str]:
    """Void a static device's codes and give it `count` new ones; the plain codes are
    returned once and never stored."""
    codes = backup_codes_generate(count)
    device.backup_codes.all().delete()
    # django-otp's own table too: nothing that predates the migration stays valid there.
    device.token_set.all().delete()
    BackupCode.objects.bulk_create(
        BackupCode(device=device, digest=backup_code_digest(code)) for code in codes
    )
    return codes


def backup_code_consume(device: StaticDevice | None, code: str) -> bool:
    """Use up the matching backup code; False when there is none.

    With a per-code salt there is no lookup by hash: the code is hashed against every
    stored one. Always against as many as a full set (dummy rows for used-up slots or no
    device at all), and without stopping at a match, so the time taken says neither which
    code matched nor how many are left.
    """
    stored = list(device.backup_codes.all()) if device is not None else []
    slots = max(len(stored), settings.AUTHSVC_MFA_BACKUP_CODE_COUNT)
    match = None
    for index in range(slots):
        row = stored[index] if index < len(stored) else None
        matched = backup_code_matches(code, row.digest if row is not None else _DUMMY_DIGEST)
        if matched and row is not None and match is None:
            match = row
    if match is None:
        return False
    match.delete()
    return True


# A well-formed digest no code matches, so a dummy slot costs what a real one does.
_DUMMY_DIGEST = f"{BACKUP_CODE_SCHEME}${BACKUP_CODE_ITERATIONS}$AAAAAAAAAAAAAAAAAAAAAA$" + "0" * 64


# The throttle counts consecutive wrong codes per account on its TOTP device, whichever
# kind of code was wrong, in django-otp's own throttling columns.


def throttle_wait(device: TOTPDevice, *, now: datetime) -> int:
    """Seconds until `device` may be tried again (0: now): the first
    AUTHSVC_MFA_FREE_FAILURES wrong codes in a row are free, then 2, 4, 8 ... up to the
    ceiling, so a guesser gets about one try an hour while the owner is only slowed down."""
    last = device.throttling_failure_timestamp
    return backoff_wait(
        device.throttling_failure_count,
        last=last.timestamp() if last else None,
        now=now.timestamp(),
        free=settings.AUTHSVC_MFA_FREE_FAILURES,
        ceiling=settings.AUTHSVC_MFA_MAX_DELAY_SECONDS,
    )


@dataclass(frozen=True, slots=True)
class CodeCheck:
    method: str | None  # TOTP_METHOD or BACKUP_CODE_METHOD when the code was right
    wait: int = 0  # > 0: throttled, the code was not even looked at

    @property
    def ok(self) -> bool:
        return self.method is not None


def code_check(
    *, totp: TOTPDevice, static: StaticDevice | None, code: str, allow_backup: bool = True
) -> CodeCheck:
    """Check `code` against a user's locked device rows and record the outcome on them.

    The caller holds both rows with select_for_update inside a transaction that commits
    whatever the outcome, so a failure counts even when the caller then refuses.
    """
    now = clock.now()
    wait = throttle_wait(totp, now=now)
    if wait:
        return CodeCheck(method=None, wait=wait)
    method = None
    step = totp_matching_step(totp, code, now=now)
    if step is not None:
        totp.last_t = step
        method = TOTP_METHOD
    elif allow_backup and backup_code_consume(static, code):
        # Called without a static device too: the same work whether the account has codes.
        method = BACKUP_CODE_METHOD
    if method is None:
        totp.throttling_failure_count += 1
        totp.throttling_failure_timestamp = now
    else:
        totp.throttling_failure_count = 0
        totp.throttling_failure_timestamp = None
        totp.last_used_at = now
    totp.save(
        update_fields=[
            "last_t",
            "throttling_failure_count",
            "throttling_failure_timestamp",
            "last_used_at",
        ]
    )
    return CodeCheck(method=method)
