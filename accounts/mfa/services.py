"""The 2FA flows: enrol a TOTP device, finish a login with a code, renew backup codes,
turn 2FA off, and the operator's reset. The API views and the admin call these."""

from base64 import b32encode
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import lockout
from accounts.bans import user_may_log_in
from accounts.exceptions import (
    AccountDisabled,
    CodeRejected,
    InvalidCode,
    InvalidCredentials,
    MfaAlreadyEnabled,
    MfaChallengeExpired,
    MfaNotEnabled,
)
from accounts.mfa import challenge as challenges
from accounts.mfa.codes import (
    BACKUP_CODE_METHOD,
    TOTP_METHOD,
    CodeCheck,
    backup_codes_replace,
    code_check,
)
from accounts.mfa.devices import user_has_totp
from accounts.mfa.qr import qr_svg
from accounts.models import Passkey, User
from audit import events
from authsvc import metrics
from authsvc.http import ClientInfo
from authsvc.ratelimit import ACCOUNT_LOCKOUT, MFA_CODE_THROTTLE, RateLimited
from sessions_store.services import user_sessions_revoke, user_snapshots_refresh
from tokens.services import IssuedTokens, session_start

Started = TypeVar("Started")

MFA_METHODS = (TOTP_METHOD, BACKUP_CODE_METHOD)
# The second step done with a passkey (accounts/passkeys/services.py).
PASSKEY_METHOD = "passkey"
# RFC 8176's value for a one-time password, added to the first factor's in the token.
OTP_AMR = "otp"
_DEVICE_NAME = "Authenticator app"
_BACKUP_DEVICE_NAME = "Backup codes"


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    otpauth_uri: str
    secret: str
    qr_svg: str


def mfa_enabled(user: User) -> bool:
    return user_has_totp(user)


def _has_passkey(user: User) -> bool:
    # A login's user lookup annotates `has_passkey` (accounts.services.user_authenticate).
    known = getattr(user, "has_passkey", None)
    if known is not None:
        return bool(known)
    return Passkey.objects.filter(user_id=user.pk).exists()


def second_factor_required(user: User) -> bool:
    """Whether a login by password (or Google) must go on to a second step: the account
    has a TOTP app, or a passkey (accounts/passkeys/)."""
    return mfa_enabled(user) or _has_passkey(user)


def mfa_methods(*, user_id) -> list[str]:
    """What can finish the account's challenged login, for the `methods` of the answer:
    "totp" and "backup_code" with an app, "passkey" with a passkey."""
    methods = list(MFA_METHODS) if user_has_totp(User(pk=user_id)) else []
    if Passkey.objects.filter(user_id=user_id).exists():
        methods.append(PASSKEY_METHOD)
    return methods


def _locked_devices(user_id, *, confirmed: bool) -> tuple[TOTPDevice | None, StaticDevice | None]:
    totp = (
        TOTPDevice.objects.select_for_update()
        .filter(user_id=user_id, confirmed=confirmed)
        .order_by("-pk")
        .first()
    )
    static = StaticDevice.objects.select_for_update().filter(user_id=user_id).first()
    return totp, static


def _checked(check: CodeCheck, *, user_id, client: ClientInfo, purpose: str) -> str | None:
    """Log and count the outcome of a code check; turn a throttled one into a 429."""
    if check.wait:
        metrics.mfa_verification(purpose=purpose, outcome="throttled")
        events.record("mfa_throttled", user_id=str(user_id), client=client, purpose=purpose)
        raise RateLimited(retry_after=check.wait, group=MFA_CODE_THROTTLE)
    metrics.mfa_verification(purpose=purpose, outcome="success" if check.ok else "invalid_code")
    if not check.ok:
        events.record("mfa_code_failed", user_id=str(user_id), client=client, purpose=purpose)
    elif check.method == BACKUP_CODE_METHOD:
        events.record("mfa_backup_code_used", user_id=str(user_id), client=client, purpose=purpose)
    return check.method


@transaction.atomic
def totp_setup(*, user_id) -> TotpEnrolment:
    """A new unconfirmed TOTP device, replacing any earlier unconfirmed one."""
    user = User.objects.select_for_update().get(pk=user_id)
    if mfa_enabled(user):
        raise MfaAlreadyEnabled()
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice.objects.create(
        user=user, name=_DEVICE_NAME, confirmed=False, tolerance=1, drift=0
    )
    return _enrolment(device)


def totp_enrolment_pending(*, user_id) -> TotpEnrolment | None:
    """The enrolment `totp_setup` started and no code confirmed yet, to show again (the
    account page, after a wrong code or a reload) rather than replace the secret the app
    has already scanned."""
    device = TOTPDevice.objects.filter(user_id=user_id, confirmed=False).order_by("-pk").first()
    if device is None:
        return None
    return _enrolment(device)


def _enrolment(device: TOTPDevice) -> TotpEnrolment:
    return TotpEnrolment(
        otpauth_uri=device.config_url,
        secret=b32encode(device.bin_key).decode().rstrip("="),
        qr_svg=qr_svg(device.config_url),
    )


def totp_confirm(*, user_id, session_id, code: str, client: ClientInfo) -> list[str]:
    """Confirm the pending device with a code from it; returns the backup codes, once.
    Every other session of the user ends: they were opened without the second factor."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        if mfa_enabled(user):
            raise MfaAlreadyEnabled()
        totp, _ = _locked_devices(user.pk, confirmed=False)
        if totp is None:
            raise MfaNotEnabled("Start with POST /auth/2fa/totp/setup/.")
        check = code_check(totp=totp, static=None, code=code, allow_backup=False)
        if check.ok:
            totp.confirmed = True
            totp.save(update_fields=["confirmed"])
            StaticDevice.objects.filter(user=user).delete()
            static = StaticDevice.objects.create(user=user, name=_BACKUP_DEVICE_NAME)
            backup_codes = backup_codes_replace(
                device=static, count=settings.AUTHSVC_MFA_BACKUP_CODE_COUNT
            )
            revoked = user_sessions_revoke(
                user_id=user.pk, reason="mfa_enabled", keep_session_id=session_id
            )
            user_snapshots_refresh(user=user)
    if not _checked(check, user_id=user_id, client=client, purpose="confirm"):
        raise CodeRejected()
    events.record(
        "mfa_enabled", user_id=str(user_id), sid=session_id, client=client, revoked=revoked
    )
    return backup_codes


def mfa_login_start(*, user: User, amr: list[str]) -> challenges.Challenge:
    """The second step of a login whose first factor (`amr`) was right."""
    return challenges.challenge_issue(user_id=str(user.pk), amr=amr)


def mfa_login_complete(*, token: str | None, code: str, client: ClientInfo) -> IssuedTokens:
    """Finish a challenged login with a TOTP or backup code: a session like any login's,
    with "otp" added to its amr."""
    issued, challenge, method = mfa_challenge_complete(
        token=token,
        code=code,
        client=client,
        purpose="login",
        start=lambda user, amr: session_start(user=user, client=client, amr=amr),
    )
    events.record(
        "login_succeeded",
        user_id=challenge.user_id,
        sid=issued.session_id,
        client=client,
        amr=[*challenge.amr, OTP_AMR],
        mfa_method=method,
    )
    return issued


def mfa_challenge_complete(
    *,
    token: str | None,
    code: str,
    client: ClientInfo,
    purpose: str,
    start: Callable[[User, list[str]], Started],
) -> tuple[Started, challenges.Challenge, str]:
    """Check the second factor of a challenged login (the API's and the admin site's) and,
    when it is right, call `start(user, amr)` to open the session; returns what `start`
    returned, the challenge and the method used. InvalidCode, RateLimited,
    MfaChallengeExpired or AccountDisabled otherwise."""
    challenge = challenges.challenge_load(token)
    try:
        with transaction.atomic():
            user = User.objects.select_for_update().filter(pk=challenge.user_id).first()
            totp, static = _locked_devices(challenge.user_id, confirmed=True)
            if user is None or totp is None:
                # The account or its 2FA went away while the challenge waited.
                raise MfaChallengeExpired()
            check = code_check(totp=totp, static=static, code=code)
            started = None
            if check.ok:
                if not user_may_log_in(user):
                    raise AccountDisabled()
                # Inside the transaction: a losing racer rolls its code use back.
                challenges.challenge_consume(challenge)
                started = start(user, [*challenge.amr, OTP_AMR])
    except (MfaChallengeExpired, AccountDisabled):
        # After the rollback, or the challenge (a database row) would come back with it.
        challenges.challenge_end(challenge)
        raise
    method = _checked(check, user_id=challenge.user_id, client=client, purpose=purpose)
    if started is None:
        challenges.challenge_fail(challenge)
        raise InvalidCode()
    return started, challenge, method


def backup_codes_regenerate(*, user_id, session_id, code: str, client: ClientInfo) -> list[str]:
    """New backup codes for a current code; the old ones stop working."""
    with transaction.atomic():
        totp, static = _locked_devices(user_id, confirmed=True)
        if totp is None:
            raise MfaNotEnabled()
        check = code_check(totp=totp, static=static, code=code)
        if check.ok:
            if static is None:
                static = StaticDevice.objects.create(user_id=user_id, name=_BACKUP_DEVICE_NAME)
            backup_codes = backup_codes_replace(
                device=static, count=settings.AUTHSVC_MFA_BACKUP_CODE_COUNT
            )
    if not _checked(check, user_id=user_id, client=client, purpose="backup_codes"):
        raise CodeRejected()
    events.record(
        "mfa_backup_codes_regenerated", user_id=str(user_id), sid=session_id, client=client
    )
    return backup_codes


def mfa_code_verify(*, user_id, code: str, client: ClientInfo, purpose: str) -> str:
    """A signed-in user proves the second factor again (a TOTP or backup code, under the
    account's throttle); returns the method, or InvalidCode / RateLimited / MfaNotEnabled."""
    with transaction.atomic():
        totp, static = _locked_devices(user_id, confirmed=True)
        if totp is None:
            raise MfaNotEnabled()
        check = code_check(totp=totp, static=static, code=code)
    method = _checked(check, user_id=user_id, client=client, purpose=purpose)
    if not method:
        raise InvalidCode()
    return method


def mfa_disable(*, user_id, session_id, password: str, code: str, client: ClientInfo) -> None:
    """Turn 2FA off with the password and a current code (TOTP or backup); every other
    session ends."""
    user = User.objects.get(pk=user_id)
    attempt = lockout.login_attempt_start(user.email)
    if attempt.wait:
        raise RateLimited(retry_after=attempt.wait, group=ACCOUNT_LOCKOUT)
    # Hashed before any row is locked: argon2 takes tens of milliseconds.
    if not user.check_password(password):
        # Already counted by login_attempt_start.
        events.record("mfa_disable_failed", user_id=str(user_id), sid=session_id, client=client)
        raise InvalidCredentials()
    lockout.login_failures_clear(user.email)
    with transaction.atomic():
        totp, static = _locked_devices(user_id, confirmed=True)
        if totp is None:
            raise MfaNotEnabled()
        check = code_check(totp=totp, static=static, code=code)
        if check.ok:
            revoked = _devices_delete(user=user, keep_session_id=session_id, reason="mfa_disabled")
    if not _checked(check, user_id=user_id, client=client, purpose="disable"):
        raise InvalidCode()
    events.record(
        "mfa_disabled", user_id=str(user_id), sid=session_id, client=client, revoked=revoked
    )


@transaction.atomic
def mfa_reset(*, user: User, by: User | None, client: ClientInfo | None = None) -> bool:
    """An operator removes a user's 2FA (a lost phone and no backup codes): the
    authenticator app, the backup codes and the passkeys; the user logs in with the password
    alone until they enrol again. Returns whether there was any."""
    had_devices = (
        TOTPDevice.objects.filter(user=user).exists()
        or StaticDevice.objects.filter(user=user).exists()
        or Passkey.objects.filter(user=user).exists()
    )
    if not had_devices:
        return False
    Passkey.objects.filter(user=user).delete()
    revoked = _devices_delete(user=user, keep_session_id=None, reason="mfa_reset")
    events.record(
        "mfa_reset",
        user_id=str(user.pk),
        client=client,
        by=str(by.pk) if by else None,
        revoked=revoked,
    )
    return True


def _devices_delete(*, user: User, keep_session_id, reason: str) -> int:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    revoked = user_sessions_revoke(user_id=user.pk, reason=reason, keep_session_id=keep_session_id)
    user_snapshots_refresh(user=user)
    return revoked
