"""Account writes: registration, password login, profile changes."""

import unicodedata
from collections.abc import Iterable
from typing import NoReturn

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from accounts import lockout
from accounts.bans import user_may_log_in
from accounts.emails import EMAIL_MAX_LENGTH, local_part_is_ascii, normalize_email
from accounts.exceptions import (
    AccountDisabled,
    EmailNotVerified,
    EmailTaken,
    InvalidCredentials,
    InvalidRequest,
)
from accounts.hashers import HASHING
from accounts.mfa.challenge import Challenge
from accounts.mfa.devices import has_totp_annotation
from accounts.mfa.services import mfa_login_start, second_factor_required
from accounts.models import Passkey, User
from accounts.roles import role_default_grant
from accounts.verification import email_verification_send
from audit import events
from authsvc.http import ClientInfo
from authsvc.prepared import PreparedFirst
from authsvc.ratelimit import ACCOUNT_LOCKOUT, RateLimited
from sessions_store.services import user_sessions_revoke, user_snapshots_refresh
from tokens.services import IssuedTokens, session_start


def _has_invisible_characters(value: str) -> bool:
    # Control, format (zero-width, bidi overrides), surrogate, private-use and unassigned
    # characters, and line separators. validate_email lets some through (IDNA drops a
    # zero-width space from the domain it checks), and they would make an address that
    # looks like another a separate account.
    return any(
        unicodedata.category(char)[0] == "C" or unicodedata.category(char) in {"Zl", "Zp"}
        for char in value
    )


def email_clean(email: str, *, field: str = "email") -> str:
    """The normal form of an address, or InvalidRequest (naming `field`) if it is not one."""
    normalized = normalize_email(email)
    try:
        # Checked on the input: IDNA would quietly drop some (a zero-width space in the
        # domain), and the address must be refused, not silently made another one.
        if len(normalized) > EMAIL_MAX_LENGTH or _has_invisible_characters(email.strip()):
            raise ValidationError(_("Enter a valid email address."))
        validate_email(normalized)
        if not local_part_is_ascii(normalized):
            raise ValidationError(_("Use only ASCII letters, digits and symbols before the @."))
    except ValidationError as exc:
        raise InvalidRequest(fields={field: list(exc.messages)}) from exc
    return normalized


def password_check(password: str, *, user: User, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        raise InvalidRequest(fields={field: list(exc.messages)}) from exc


def user_create(*, email: str, password: str | None, name: str = "") -> User:
    email = email_clean(email)
    if password is not None:
        password_check(password, user=User(email=email, name=name))
    if User.objects.filter(email=email).exists():
        raise EmailTaken()
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, name=name)
            role_default_grant(user=user)
            return user
    except IntegrityError as exc:
        # Two registrations raced past the check; the unique constraint decided.
        raise EmailTaken() from exc


@transaction.atomic
def user_register(
    *, email: str, password: str, name: str, client: ClientInfo
) -> tuple[User, IssuedTokens | None]:
    """Create the account and send the verification link; log the user in unless logins
    wait for a verified email (AUTHSVC_LOGIN_REQUIRES_VERIFIED_EMAIL)."""
    user = user_create(email=email, password=password, name=name)
    issued = None
    if not settings.AUTHSVC_LOGIN_REQUIRES_VERIFIED_EMAIL:
        issued = session_start(user=user, client=client, amr=["pwd"])
    # Queued in this transaction: a registration that rolls back sends nothing.
    email_verification_send(user=user)
    events.record(
        "user_registered",
        user_id=str(user.pk),
        sid=issued.session_id if issued else None,
        client=client,
    )
    return user, issued


def _user_for_login(email: str):
    """The user of `email` and whether it has 2FA on (a TOTP app, a passkey): one query."""
    return User.objects.filter(email=email).annotate(
        has_totp=has_totp_annotation(),
        has_passkey=Exists(Passkey.objects.filter(user=OuterRef("pk"))),
    )


# Compiled once per database: building this query cost more CPU than running it.
_USER_FOR_LOGIN = PreparedFirst(User, _user_for_login)


def user_authenticate(*, email: str, password: str, client: ClientInfo) -> User:
    """The user whose password this is, or InvalidCredentials / AccountDisabled, or
    RateLimited while the address is locked out (accounts/lockout.py)."""
    email = normalize_email(email)
    user = _USER_FOR_LOGIN.first(email)
    password_verify(user=user, email=email, password=password, client=client)
    # Only after the right password: a wrong one must not reveal that the account exists.
    user_login_allowed(user, client=client)
    return user


def user_login_allowed(user: User, *, client: ClientInfo) -> None:
    """AccountDisabled or EmailNotVerified for a user whose first factor was just proven
    (password, passkey) but who may not sign in; every login checks this only then."""
    if not user_may_log_in(user):
        events.record("login_refused", user_id=str(user.pk), client=client, reason="disabled")
        raise AccountDisabled()
    if settings.AUTHSVC_LOGIN_REQUIRES_VERIFIED_EMAIL and not user.email_verified:
        events.record("login_refused", user_id=str(user.pk), client=client, reason="unverified")
        raise EmailNotVerified()


def password_verify(
    *,
    user: User | None,
    email: str,
    password: str,
    client: ClientInfo,
    attempt: str = "login",
    sid: str | None = None,
) -> None:
    """The one password check, for a login and for a signed-in user proving the password
    again (`attempt` names the events: "reauth", "email_change"): InvalidCredentials, or
    RateLimited while `email` is locked out, or HashingBusy (nothing counted) while every
    hashing slot of the process is taken (accounts/hashers.py). Every door shares the
    lockout, so a stolen session cannot guess the password faster than a login could. Call
    it outside a transaction: the attempt is counted before the check, and a rollback would
    erase it."""
    # A slot of the hashing pool first (accounts/hashers.py): refused in a login storm
    # before the attempt is counted, so a refusal costs the account nothing.
    with HASHING.admitted():
        _password_verify(
            user=user, email=email, password=password, client=client, attempt=attempt, sid=sid
        )


def _password_verify(*, user, email, password, client, attempt, sid) -> None:
    user_id = str(user.pk) if user else None
    # Counted as a failure before the password is checked, so parallel guesses cannot all
    # pass the lockout; a right password clears it below.
    state = lockout.login_attempt_start(email)
    if state.wait:
        # Checked before the password, so a locked account gives no hint of a right guess.
        events.record(
            f"{attempt}_throttled", user_id=user_id, sid=sid, client=client, wait=state.wait
        )
        raise RateLimited(retry_after=state.wait, group=ACCOUNT_LOCKOUT)
    if user is None or not user.has_usable_password():
        # Hash anyway, so an unknown email costs the same time as a wrong password
        # (the reason Django's ModelBackend does this, ticket #20760).
        User().set_password(password)
        reason = "unknown_email" if user is None else "no_password"
        _password_failed(state.failures, user_id, client, attempt=attempt, sid=sid, reason=reason)
    # check_password re-hashes with the current hasher and parameters when they changed.
    if not user.check_password(password):
        _password_failed(
            state.failures, user_id, client, attempt=attempt, sid=sid, reason="wrong_password"
        )
    lockout.login_failures_clear(email)


def _password_failed(
    failures: int, user_id: str | None, client: ClientInfo, *, attempt: str, sid, reason: str
) -> NoReturn:
    # Already counted by lockout.login_attempt_start.
    events.record(f"{attempt}_failed", user_id=user_id, sid=sid, client=client, reason=reason)
    if lockout.login_locked_after(failures):
        events.record("login_locked", user_id=user_id, client=client, failures=failures)
    raise InvalidCredentials()


def user_login(*, email: str, password: str, client: ClientInfo) -> IssuedTokens | Challenge:
    """Tokens for a correct password, or, when the account has 2FA (a TOTP app or a passkey),
    the challenge that `accounts.mfa.services.mfa_login_complete` (a code) or
    `accounts.passkeys.services.mfa_passkey_complete` turns into tokens."""
    user = user_authenticate(email=email, password=password, client=client)
    if second_factor_required(user):
        challenge = mfa_login_start(user=user, amr=["pwd"])
        events.record("login_mfa_required", user_id=str(user.pk), client=client)
        return challenge
    return session_start(user=user, client=client, amr=["pwd"], event="login_succeeded")


@transaction.atomic
def user_profile_update(*, user_id, name: str) -> User:
    user = User.objects.select_for_update().get(pk=user_id)
    user.name = name
    user.save(update_fields=["name"])
    user_snapshots_refresh(user=user)
    return user


# What the session snapshot (and so GET /auth/self/ and the next access token) shows of a
# user, besides roles (accounts.roles) and 2FA (accounts.mfa.services).
SNAPSHOT_FIELDS = frozenset({"email", "name", "email_verified"})
# An operator's edit of these ends the user's sessions instead of re-caching them.
ACCESS_FIELDS = frozenset({"is_active"})


@transaction.atomic
def user_save_by_operator(
    *, user: User, changed: Iterable[str], by: User | None = None, client: ClientInfo | None = None
) -> None:
    """Save an operator's edit of a user (the admin's user form) and make it count at once:
    a deactivated user's sessions end, other profile changes re-cache their snapshots.
    Roles go through `accounts.roles.user_roles_changed`, bans through `accounts.bans`."""
    changed = set(changed)
    user.save()
    if ACCESS_FIELDS & changed and not user.is_active:
        revoked = user_sessions_revoke(user_id=user.pk, reason="deactivated")
    else:
        revoked = 0
        if SNAPSHOT_FIELDS & changed:
            # After the commit: an edit the admin's transaction rolls back must not reach
            # the cache (a request that misses meanwhile reads the committed row).
            transaction.on_commit(lambda: user_snapshots_refresh(user=user))
    if changed:
        events.record(
            "user_changed_by_operator",
            user_id=str(user.pk),
            client=client,
            by=str(by.pk) if by else None,
            fields=sorted(changed),
            revoked=revoked,
        )


@transaction.atomic
def user_delete(*, user: User, by: User | None = None, client: ClientInfo | None = None) -> int:
    """Delete an account (the admin's delete page and bulk action). Its sessions are revoked
    first, so the store holds tombstones and its access tokens fail at once rather than
    living on as cached snapshots until they expire; returns how many sessions ended."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    revoked = user_sessions_revoke(user_id=locked.pk, reason="user_deleted")
    user_id = str(locked.pk)
    locked.delete()
    events.record(
        "user_deleted",
        user_id=user_id,
        client=client,
        by=str(by.pk) if by else None,
        revoked=revoked,
    )
    return revoked
