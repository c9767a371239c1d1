"""The passkey flows: register one, sign in with one (discoverable credentials, user
verification required), finish a password login with one as the second factor, rename and
delete. The API views, the pages and the admin call these; py_webauthn checks each answer
against the relying party (AUTHSVC_WEBAUTHN_RP_ID, AUTHSVC_WEBAUTHN_ORIGINS).
"""

import json
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts.bans import user_may_log_in
from accounts.exceptions import (
    AccountDisabled,
    CredentialRejected,
    EmailNotVerified,
    InvalidCredential,
    InvalidRequest,
    MfaNotEnabled,
    PasskeyNotFound,
)
from accounts.mfa import challenge as mfa_challenges
from accounts.models import User
from accounts.passkeys.challenge import CHALLENGE_TTL_SECONDS, challenge_consume, challenge_issue
from accounts.passkeys.models import Passkey, PasskeyChallenge
from audit import events
from authsvc import clock
from authsvc.http import ClientInfo
from sessions_store.services import session_reauthenticated
from tokens.exceptions import TokenInvalid
from tokens.services import IssuedTokens, session_start

# RFC 8176: more than one factor. A passkey with user verification is something held (the
# authenticator's key) and something known or being (its PIN or biometric).
MFA_AMR = "mfa"
PASSKEY_METHOD = "passkey"
NAME_MAX_LENGTH = 64
# Bounds the exclude list of the registration options and the admin's inline.
MAX_PASSKEYS_PER_USER = 20
_KNOWN_TRANSPORTS = frozenset(transport.value for transport in AuthenticatorTransport)
# The credential documents browsers send are a few kilobytes; a bound before any parsing.
_CREDENTIAL_MAX_CHARS = 16_384


def user_has_passkey(user_id) -> bool:
    return Passkey.objects.filter(user_id=user_id).exists()


def _options_json(options) -> dict:
    # py_webauthn's own JSON form: binary fields as base64url, camelCase names, what
    # PublicKeyCredential.parseCreationOptionsFromJSON() and friends take.
    return json.loads(options_to_json(options))


def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    return PublicKeyCredentialDescriptor(
        id=bytes(passkey.credential_id),
        transports=[AuthenticatorTransport(t) for t in passkey.transports],
    )


def _credential_shape(credential, error: type[InvalidCredential]) -> dict:
    if not isinstance(credential, dict) or len(json.dumps(credential)) > _CREDENTIAL_MAX_CHARS:
        raise error()
    return credential


def name_clean(name: str) -> str:
    name = " ".join(name.split())
    if any(unicodedata.category(char)[0] == "C" for char in name):
        raise InvalidRequest(fields={"name": ["Use printable characters only."]})
    if not name:
        raise InvalidRequest(fields={"name": ["Enter a name."]})
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidRequest(fields={"name": [f"Use at most {NAME_MAX_LENGTH} characters."]})
    return name


# Registration ------------------------------------------------------------------------------


def passkey_registration_options(*, user_id, session_id: str) -> dict:
    """Creation options for a new passkey of the signed-in user: user verification
    required, a resident (discoverable) key preferred, the user's passkeys excluded so one
    authenticator does not register twice. The challenge is bound to this session."""
    user = User.objects.get(pk=user_id)
    existing = list(Passkey.objects.filter(user=user))
    if len(existing) >= MAX_PASSKEYS_PER_USER:
        raise InvalidRequest(f"An account may have at most {MAX_PASSKEYS_PER_USER} passkeys.")
    challenge = challenge_issue(
        purpose=PasskeyChallenge.REGISTER, user_id=user.pk, session_id=session_id
    )
    options = generate_registration_options(
        rp_id=settings.AUTHSVC_WEBAUTHN_RP_ID,
        rp_name=settings.AUTHSVC_SERVICE_NAME,
        # The user handle: the account's UUID, never the email (authenticators may show or
        # sync it); a discoverable login reads it back.
        user_id=user.pk.bytes,
        user_name=user.email,
        user_display_name=user.name or user.email,
        challenge=challenge,
        timeout=CHALLENGE_TTL_SECONDS * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[_descriptor(passkey) for passkey in existing],
    )
    return _options_json(options)


def passkey_register(
    *, user_id, session_id: str, credential, name: str | None, client: ClientInfo
) -> Passkey:
    """Verify the authenticator's answer to this session's registration options and keep
    the credential; CredentialRejected otherwise (the challenge is spent either way)."""
    credential = _credential_shape(credential, CredentialRejected)
    name = name_clean(name) if name is not None else None
    challenge = challenge_consume(
        credential,
        purpose=PasskeyChallenge.REGISTER,
        user_id=user_id,
        session_id=session_id,
        error=CredentialRejected,
    )
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.AUTHSVC_WEBAUTHN_RP_ID,
            expected_origin=list(settings.AUTHSVC_WEBAUTHN_ORIGINS),
            require_user_verification=True,
        )
    except (WebAuthnException, AttributeError, KeyError, TypeError, ValueError) as exc:
        events.record(
            "passkey_register_failed", user_id=str(user_id), sid=session_id, client=client,
            reason=type(exc).__name__,
        )  # fmt: skip
        raise CredentialRejected() from exc
    transports = credential.get("response", {}).get("transports") or []
    transports = [t for t in transports if isinstance(t, str) and t in _KNOWN_TRANSPORTS]
    try:
        with transaction.atomic():
            user = User.objects.select_for_update().get(pk=user_id)
            count = Passkey.objects.filter(user=user).count()
            if count >= MAX_PASSKEYS_PER_USER:
                raise InvalidRequest(
                    f"An account may have at most {MAX_PASSKEYS_PER_USER} passkeys."
                )
            passkey = Passkey.objects.create(
                user=user,
                credential_id=verified.credential_id,
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=transports,
                aaguid=verified.aaguid,
                backup_eligible=(
                    verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
                ),
                backed_up=verified.credential_backed_up,
                name=name or f"Passkey {count + 1}",
                created_at=clock.now(),
            )
    except IntegrityError as exc:
        # The credential is registered already (this account's excluded list missed it, or
        # another account's): one credential, one account.
        raise CredentialRejected("This passkey is already registered.") from exc
    events.record(
        "passkey_registered",
        user_id=str(user_id),
        sid=session_id,
        client=client,
        passkey_id=str(passkey.pk),
        amr=passkey.amr,
    )
    return passkey


# Sign-in -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Checked:
    passkey: Passkey | None
    failure: str | None  # None: verified, counter moved on
    stored_count: int = 0
    presented_count: int = 0


def _credential_id(credential: dict) -> bytes:
    raw_id = credential.get("rawId") or credential.get("id")
    if not isinstance(raw_id, str) or len(raw_id) > 1400:
        raise ValueError("rawId")
    return base64url_to_bytes(raw_id)


def _assertion_check(
    credential: dict, *, challenge: bytes, require_uv: bool, user_id=None
) -> _Checked:
    """Verify an assertion against the stored credential and move its counter on, under
    the credential's row lock so two uses of a cloned key cannot both pass."""
    try:
        credential_id = _credential_id(credential)
    except (TypeError, ValueError):
        return _Checked(None, "malformed")
    with transaction.atomic():
        passkey = (
            Passkey.objects.select_for_update()
            .select_related("user")
            .filter(credential_id=credential_id)
            .first()
        )
        if passkey is None or (user_id is not None and str(passkey.user_id) != str(user_id)):
            return _Checked(None, "unknown_credential")
        try:
            handle = (credential.get("response") or {}).get("userHandle")
            if handle and base64url_to_bytes(handle) != passkey.user_id.bytes:
                return _Checked(passkey, "user_handle_mismatch")
            # The library's own counter check is given 0 so that it verifies everything,
            # signature included, before the counter is judged below: a forged counter with
            # a bad signature is a bad signature, not a clone.
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=settings.AUTHSVC_WEBAUTHN_RP_ID,
                expected_origin=list(settings.AUTHSVC_WEBAUTHN_ORIGINS),
                credential_public_key=bytes(passkey.public_key),
                credential_current_sign_count=0,
                require_user_verification=require_uv,
            )
        except (WebAuthnException, AttributeError, KeyError, TypeError, ValueError):
            return _Checked(passkey, "verification_failed")
        stored, presented = passkey.sign_count, verified.new_sign_count
        # WebAuthn §7.2 step 21: a counter that does not grow, when either is non-zero,
        # means two authenticators hold the key. Refused, and the counter stays where it was.
        if (stored or presented) and presented <= stored:
            return _Checked(passkey, "counter_regressed", stored, presented)
        passkey.sign_count = presented
        passkey.backed_up = verified.credential_backed_up
        passkey.last_used_at = clock.now()
        passkey.save(update_fields=["sign_count", "backed_up", "last_used_at"])
    return _Checked(passkey, None)


def _assertion_refused(
    checked: _Checked, *, client: ClientInfo, event: str, user_id=None, sid=None, **details
) -> None:
    passkey = checked.passkey
    user_id = str(passkey.user_id) if passkey else (str(user_id) if user_id else None)
    passkey_id = str(passkey.pk) if passkey else None
    if checked.failure == "counter_regressed":
        events.record(
            "passkey_clone_detected",
            user_id=user_id,
            sid=sid,
            client=client,
            passkey_id=passkey_id,
            stored_sign_count=checked.stored_count,
            presented_sign_count=checked.presented_count,
        )
    events.record(
        event, user_id=user_id, sid=sid, client=client, passkey_id=passkey_id,
        reason=checked.failure, **details,
    )  # fmt: skip


def passkey_login_options() -> dict:
    """Request options for a discoverable credential: no allowCredentials (the browser
    offers the passkeys it holds for the RP id), user verification required."""
    challenge = challenge_issue(purpose=PasskeyChallenge.LOGIN)
    options = generate_authentication_options(
        rp_id=settings.AUTHSVC_WEBAUTHN_RP_ID,
        challenge=challenge,
        timeout=CHALLENGE_TTL_SECONDS * 1000,
        allow_credentials=[],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return _options_json(options)


def passkey_login(*, credential, client: ClientInfo) -> IssuedTokens:
    """A session for a verified assertion, with `amr` ["hwk" or "swk", "mfa"];
    InvalidCredential, or AccountDisabled / EmailNotVerified only after a valid one."""
    credential = _credential_shape(credential, InvalidCredential)
    try:
        challenge = challenge_consume(credential, purpose=PasskeyChallenge.LOGIN)
    except InvalidCredential:
        events.record("passkey_login_failed", client=client, reason="challenge")
        raise
    checked = _assertion_check(credential, challenge=challenge, require_uv=True)
    if checked.failure:
        _assertion_refused(checked, client=client, event="passkey_login_failed")
        raise InvalidCredential()
    passkey = checked.passkey
    user = passkey.user
    if not user_may_log_in(user):
        # Only after a valid assertion: an unknown key must not learn about the account.
        events.record("login_refused", user_id=str(user.pk), client=client, reason="disabled")
        raise AccountDisabled()
    if settings.AUTHSVC_LOGIN_REQUIRES_VERIFIED_EMAIL and not user.email_verified:
        events.record("login_refused", user_id=str(user.pk), client=client, reason="unverified")
        raise EmailNotVerified()
    amr = [passkey.amr, MFA_AMR]
    issued = session_start(user=user, client=client, amr=amr)
    events.record(
        "passkey_login_succeeded",
        user_id=str(user.pk),
        sid=issued.session_id,
        client=client,
        passkey_id=str(passkey.pk),
        amr=amr,
    )
    return issued


# The second factor after a password (or Google) --------------------------------------------


def mfa_passkey_options(*, token: str | None) -> dict:
    """Request options for the challenged login's user: their passkeys allowed, user
    verification preferred (the password was the first factor; a security key without a
    PIN is still the second). MfaChallengeExpired, or MfaNotEnabled without a passkey."""
    login = mfa_challenges.challenge_load(token)
    return _user_request_options(user_id=login.user_id, purpose=PasskeyChallenge.MFA)


def mfa_passkey_complete(*, token: str | None, credential, client: ClientInfo) -> IssuedTokens:
    """Finish a challenged login with one of the user's passkeys: a session whose `amr` is
    the first factor's plus "hwk"/"swk" and "mfa". A wrong answer counts against the login
    challenge like a wrong code."""
    login = mfa_challenges.challenge_load(token)
    credential = _credential_shape(credential, InvalidCredential)
    try:
        challenge = challenge_consume(
            credential, purpose=PasskeyChallenge.MFA, user_id=login.user_id
        )
        checked = _assertion_check(
            credential, challenge=challenge, require_uv=False, user_id=login.user_id
        )
    except InvalidCredential:
        checked = _Checked(None, "challenge")
    if checked.failure:
        mfa_challenges.challenge_fail(login)
        _assertion_refused(
            checked, client=client, event="mfa_passkey_failed", user_id=login.user_id
        )
        raise InvalidCredential()
    passkey = checked.passkey
    user = passkey.user
    if not user_may_log_in(user):
        mfa_challenges.challenge_end(login)
        events.record("login_refused", user_id=str(user.pk), client=client, reason="disabled")
        raise AccountDisabled()
    amr = [*login.amr, passkey.amr, MFA_AMR]
    with transaction.atomic():
        # Of two racing completions one finds the login challenge gone (and rolls back).
        mfa_challenges.challenge_consume(login)
        issued = session_start(user=user, client=client, amr=amr)
    events.record(
        "login_succeeded",
        user_id=str(user.pk),
        sid=issued.session_id,
        client=client,
        amr=amr,
        mfa_method=PASSKEY_METHOD,
        passkey_id=str(passkey.pk),
    )
    return issued


# Step-up -----------------------------------------------------------------------------------


def _user_request_options(*, user_id, purpose: str, session_id: str = "") -> dict:
    passkeys = list(Passkey.objects.filter(user_id=user_id))
    if not passkeys:
        raise MfaNotEnabled("This account has no passkey.")
    challenge = challenge_issue(purpose=purpose, user_id=user_id, session_id=session_id)
    options = generate_authentication_options(
        rp_id=settings.AUTHSVC_WEBAUTHN_RP_ID,
        challenge=challenge,
        timeout=CHALLENGE_TTL_SECONDS * 1000,
        allow_credentials=[_descriptor(passkey) for passkey in passkeys],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return _options_json(options)


def passkey_reauth_options(*, user_id, session_id: str) -> dict:
    """Request options for a signed-in session to prove its passkey again (step-up); the
    challenge is bound to the session. MfaNotEnabled without a passkey."""
    return _user_request_options(
        user_id=user_id, purpose=PasskeyChallenge.REAUTH, session_id=session_id
    )


def passkey_reauth(*, user_id, session_id: str, credential, client: ClientInfo) -> int:
    """The session proves one of its user's passkeys again; returns the new `auth_time`.
    InvalidCredential otherwise (the challenge is spent either way)."""
    credential = _credential_shape(credential, InvalidCredential)
    try:
        challenge = challenge_consume(
            credential, purpose=PasskeyChallenge.REAUTH, user_id=user_id, session_id=session_id
        )
        checked = _assertion_check(
            credential, challenge=challenge, require_uv=False, user_id=user_id
        )
    except InvalidCredential:
        checked = _Checked(None, "challenge")
    if checked.failure:
        _assertion_refused(
            checked, client=client, event="reauth_failed", user_id=user_id, sid=session_id
        )
        raise InvalidCredential()
    renewed = session_reauthenticated(session_id=session_id, user_id=user_id)
    if renewed is None:
        # The session ended while the passkey was checked.
        raise TokenInvalid()
    events.record(
        "reauth", user_id=str(user_id), sid=session_id, client=client, method=PASSKEY_METHOD,
        passkey_id=str(checked.passkey.pk),
    )  # fmt: skip
    return int(renewed.timestamp())


# Managing them -----------------------------------------------------------------------------


def passkey_get(*, user_id, passkey_id) -> Passkey:
    """The user's passkey, or PasskeyNotFound (also for another user's)."""
    passkey = Passkey.objects.filter(pk=passkey_id, user_id=user_id).first()
    if passkey is None:
        raise PasskeyNotFound()
    return passkey


def passkey_rename(
    *, user_id, passkey_id, name: str, client: ClientInfo | None, sid: str | None = None
) -> Passkey:
    name = name_clean(name)
    with transaction.atomic():
        passkey = Passkey.objects.select_for_update().filter(pk=passkey_id, user_id=user_id).first()
        if passkey is None:
            raise PasskeyNotFound()
        before = passkey.name
        passkey.name = name
        passkey.save(update_fields=["name"])
    events.record(
        "passkey_renamed", user_id=str(user_id), sid=sid, client=client,
        passkey_id=str(passkey.pk), before=before, after=name,
    )  # fmt: skip
    return passkey


def passkey_delete(
    *, passkey: Passkey, client: ClientInfo | None, sid: str | None = None, by: User | None = None
) -> None:
    """Remove a passkey (the user's own, or an operator's in the admin). Deleting the last
    one is allowed: the password (and TOTP, if any) still sign the user in."""
    passkey_id, user_id = str(passkey.pk), str(passkey.user_id)
    deleted, _ = Passkey.objects.filter(pk=passkey.pk).delete()
    if not deleted:
        return
    events.record(
        "passkey_deleted", user_id=user_id, sid=sid, client=client, passkey_id=passkey_id,
        name=passkey.name, by=str(by.pk) if by else None,
    )  # fmt: skip


def passkeys_list(*, user_id):
    return Passkey.objects.filter(user_id=user_id).order_by("created_at", "id")
