"""Checking codes: TOTP on the injectable clock, backup codes stored hashed, and the
per-account throttle that keeps six digits from being guessed.

django-otp's own `verify_token` methods read `time.time()` and check `last_t` without a
row lock, so two requests carrying the same code at once could both pass. Here every
check runs on a device row locked with SELECT ... FOR UPDATE, on `authsvc.clock`.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

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


def backup_code_hash(code: str) -> str:
    # django-otp keeps static tokens in clear in a 16-character column. A hash prefix of
    # 64 bits fits it: finding a code for it costs as much as guessing the 50-bit code.
    return hashlib.sha256(backup_code_clean(code).encode()).hexdigest()[:16]


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
    device.token_set.all().delete()
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=backup_code_hash(code)) for code in codes
    )
    return codes


def backup_code_consume(device: StaticDevice, code: str) -> bool:
    """Use up the matching backup code; False when there is none."""
    match = device.token_set.filter(token=backup_code_hash(code)).first()
    if match is None:
        return False
    match.delete()
    return True


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
    elif allow_backup and static is not None and backup_code_consume(static, code):
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
