"""Account writes: registration, password login, profile changes."""

import unicodedata
from typing import NoReturn

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from accounts import events, lockout
from accounts.bans import user_may_log_in
from accounts.emails import EMAIL_MAX_LENGTH, normalize_email
from accounts.exceptions import (
    AccountDisabled,
    EmailNotVerified,
    EmailTaken,
    InvalidCredentials,
    InvalidRequest,
)
from accounts.mfa.challenge import Challenge
from accounts.mfa.devices import has_totp_annotation
from accounts.mfa.services import mfa_enabled, mfa_login_start
from accounts.models import User
from accounts.roles import role_default_grant
from accounts.verification import email_verification_send
from authsvc.http import ClientInfo
from authsvc.ratelimit import RateLimited
from sessions_store.services import user_snapshots_refresh
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


def email_clean(email: str) -> str:
    """The normal form of an address, or InvalidRequest if it is not one."""
    normalized = normalize_email(email)
    try:
        # Checked on the input: IDNA would quietly drop some (a zero-width space in the
        # domain), and the address must be refused, not silently made another one.
        if len(normalized) > EMAIL_MAX_LENGTH or _has_invisible_characters(email.strip()):
            raise ValidationError("Enter a valid email address.")
        validate_email(normalized)
    except ValidationError as exc:
        raise InvalidRequest(fields={"email": list(exc.messages)}) from exc
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
    transaction.on_commit(lambda: email_verification_send(user=user))
    events.record(
        "user_registered",
        user_id=str(user.pk),
        sid=issued.session_id if issued else None,
        client=client,
    )
    return user, issued


def user_authenticate(*, email: str, password: str, client: ClientInfo) -> User:
    """The user whose password this is, or InvalidCredentials / AccountDisabled, or
    RateLimited while the address is locked out (accounts/lockout.py)."""
    email = normalize_email(email)
    user = User.objects.filter(email=email).annotate(has_totp=has_totp_annotation()).first()
    state = lockout.login_attempt_start(email)
    if state.wait:
        # Checked before the password, so a locked account gives no hint of a right guess.
        events.record(
            "login_throttled",
            user_id=str(user.pk) if user else None,
            client=client,
            wait=state.wait,
        )
        raise RateLimited(retry_after=state.wait)
    if user is None or not user.has_usable_password():
        # Hash anyway, so an unknown email costs the same time as a wrong password
        # (the reason Django's ModelBackend does this, ticket #20760).
        User().set_password(password)
        _login_failed(
            state.failures,
            user,
            client,
            reason="unknown_email" if user is None else "no_password",
        )
    # check_password re-hashes with the current hasher and parameters when they changed.
    if not user.check_password(password):
        _login_failed(state.failures, user, client, reason="wrong_password")
    # The attempt was counted as a failure before the check; a right password clears it.
    lockout.login_failures_clear(email)
    if not user_may_log_in(user):
        # Only after the right password: a wrong one must not reveal that the account exists.
        events.record("login_refused", user_id=str(user.pk), client=client, reason="disabled")
        raise AccountDisabled()
    if settings.AUTHSVC_LOGIN_REQUIRES_VERIFIED_EMAIL and not user.email_verified:
        events.record("login_refused", user_id=str(user.pk), client=client, reason="unverified")
        raise EmailNotVerified()
    return user


def _login_failed(failures: int, user: User | None, client: ClientInfo, *, reason: str) -> NoReturn:
    # Already counted by lockout.login_attempt_start.
    user_id = str(user.pk) if user else None
    events.record("login_failed", user_id=user_id, client=client, reason=reason)
    if lockout.login_locked_after(failures):
        events.record("login_locked", user_id=user_id, client=client, failures=failures)
    raise InvalidCredentials()


def user_login(*, email: str, password: str, client: ClientInfo) -> IssuedTokens | Challenge:
    """Tokens for a correct password, or, when the account has 2FA, the challenge that
    `accounts.mfa.services.mfa_login_complete` turns into tokens with a code."""
    user = user_authenticate(email=email, password=password, client=client)
    if mfa_enabled(user):
        challenge = mfa_login_start(user=user, amr=["pwd"])
        events.record("login_mfa_required", user_id=str(user.pk), client=client)
        return challenge
    issued = session_start(user=user, client=client, amr=["pwd"])
    events.record("login_succeeded", user_id=str(user.pk), sid=issued.session_id, client=client)
    return issued


@transaction.atomic
def user_profile_update(*, user_id, name: str) -> User:
    user = User.objects.select_for_update().get(pk=user_id)
    user.name = name
    user.save(update_fields=["name"])
    user_snapshots_refresh(user=user)
    return user
