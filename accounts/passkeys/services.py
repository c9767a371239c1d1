"""The passkey flows: register one, sign in with one (discoverable credentials, user
verification required), finish a password login with one as the second factor, rename and
delete. The API views, the pages and the admin call these; py_webauthn checks each answer
against the relying party (AUTHSVC_WEBAUTHN_RP_ID, AUTHSVC_WEBAUTHN_ORIGINS), imported
inside the functions that use it (accounts/passkeys/ceremony.py says why).
"""

import unicodedata

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.bans import user_may_log_in
from accounts.exceptions import (
    AccountDisabled,
    CredentialRejected,
    InvalidCredential,
    InvalidRequest,
    PasskeyNotFound,
)
from accounts.mfa import challenge as mfa_challenges
from accounts.mfa.devices import user_has_totp
from accounts.models import User
from accounts.passkeys.ceremony import (
    Checked,
    assertion_check,
    assertion_refused,
    credential_shape,
    descriptor,
    options_json,
    user_request_options,
)
from accounts.passkeys.challenge import CHALLENGE_TTL_SECONDS, challenge_consume, challenge_issue
from accounts.passkeys.models import Passkey, PasskeyChallenge
from accounts.services import user_login_allowed
from audit import events
from authsvc import clock
from authsvc.http import ClientInfo
from sessions_store.services import (
    session_reauthenticated,
    user_sessions_revoke,
)
from tokens.exceptions import TokenInvalid
from tokens.services import IssuedTokens, session_start

# RFC 8176: more than one factor. A passkey with user verification is something held (the
# authenticator's key) and something known or being (its PIN or biometric).
MFA_AMR = "mfa"
PASSKEY_METHOD = "passkey"
NAME_MAX_LENGTH = 64
# Bounds the exclude list of the registration options and the admin's inline.
MAX_PASSKEYS_PER_USER = 20


def user_has_passkey(user_id) -> bool:
    return Passkey.objects.filter(user_id=user_id).exists()


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
    from webauthn import generate_registration_options
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

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
        exclude_credentials=[descriptor(passkey) for passkey in existing],
    )
    return options_json(options)


def passkey_register(
    *, user_id, session_id: str, credential, name: str | None, client: ClientInfo
) -> Passkey:
    """Verify the authenticator's answer to this session's registration options and keep
    the credential; CredentialRejected otherwise (the challenge is spent either way)."""
    from webauthn import verify_registration_response
    from webauthn.helpers.exceptions import WebAuthnException
    from webauthn.helpers.structs import AuthenticatorTransport, CredentialDeviceType

    credential = credential_shape(credential, CredentialRejected)
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
    known = {transport.value for transport in AuthenticatorTransport}
    transports = [t for t in transports if isinstance(t, str) and t in known]
    try:
        with transaction.atomic():
            user = User.objects.select_for_update().get(pk=user_id)
            count = Passkey.objects.filter(user=user).count()
            first_factor_only = count == 0 and not user_has_totp(user)
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
            revoked = 0
            if first_factor_only:
                # The account now has a second factor: every other session ends, as when
                # an authenticator app is confirmed (they were opened without one).
                revoked = user_sessions_revoke(
                    user_id=user.pk, reason="passkey_added", keep_session_id=session_id
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
        revoked=revoked,
    )
    return passkey


# Sign-in -----------------------------------------------------------------------------------


def passkey_login_options() -> dict:
    """Request options for a discoverable credential: no allowCredentials (the browser
    offers the passkeys it holds for the RP id), user verification required."""
    from webauthn import generate_authentication_options
    from webauthn.helpers.structs import UserVerificationRequirement

    challenge = challenge_issue(purpose=PasskeyChallenge.LOGIN)
    options = generate_authentication_options(
        rp_id=settings.AUTHSVC_WEBAUTHN_RP_ID,
        challenge=challenge,
        timeout=CHALLENGE_TTL_SECONDS * 1000,
        allow_credentials=[],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_json(options)


def passkey_login(*, credential, client: ClientInfo) -> IssuedTokens:
    """A session for a verified assertion, with `amr` ["hwk" or "swk", "mfa"];
    InvalidCredential, or AccountDisabled / EmailNotVerified only after a valid one."""
    credential = credential_shape(credential, InvalidCredential)
    try:
        challenge = challenge_consume(credential, purpose=PasskeyChallenge.LOGIN)
    except InvalidCredential:
        events.record("passkey_login_failed", client=client, reason="challenge")
        raise
    checked = assertion_check(credential, challenge=challenge, require_uv=True)
    if checked.failure:
        assertion_refused(checked, client=client, event="passkey_login_failed")
        raise InvalidCredential()
    passkey = checked.passkey
    user = passkey.user
    # Only after a valid assertion: an unknown key must not learn about the account.
    user_login_allowed(user, client=client)
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
    return user_request_options(user_id=login.user_id, purpose=PasskeyChallenge.MFA)


def mfa_passkey_complete(*, token: str | None, credential, client: ClientInfo) -> IssuedTokens:
    """Finish a challenged login with one of the user's passkeys: a session whose `amr` is
    the first factor's plus "hwk"/"swk" and "mfa". A wrong answer counts against the login
    challenge like a wrong code."""
    login = mfa_challenges.challenge_load(token)
    credential = credential_shape(credential, InvalidCredential)
    try:
        challenge = challenge_consume(
            credential, purpose=PasskeyChallenge.MFA, user_id=login.user_id
        )
        checked = assertion_check(
            credential, challenge=challenge, require_uv=False, user_id=login.user_id
        )
    except InvalidCredential:
        checked = Checked(None, "challenge")
    if checked.failure:
        mfa_challenges.challenge_fail(login)
        assertion_refused(checked, client=client, event="mfa_passkey_failed", user_id=login.user_id)
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


def passkey_reauth_options(*, user_id, session_id: str) -> dict:
    """Request options for a signed-in session to prove its passkey again (step-up); the
    challenge is bound to the session. MfaNotEnabled without a passkey."""
    return user_request_options(
        user_id=user_id, purpose=PasskeyChallenge.REAUTH, session_id=session_id
    )


def passkey_reauth(*, user_id, session_id: str, credential, client: ClientInfo) -> int:
    """The session proves one of its user's passkeys again; returns the new `auth_time`.
    InvalidCredential otherwise (the challenge is spent either way)."""
    credential = credential_shape(credential, InvalidCredential)
    try:
        challenge = challenge_consume(
            credential, purpose=PasskeyChallenge.REAUTH, user_id=user_id, session_id=session_id
        )
        checked = assertion_check(
            credential, challenge=challenge, require_uv=False, user_id=user_id
        )
    except InvalidCredential:
        checked = Checked(None, "challenge")
    if checked.failure:
        assertion_refused(
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
    one is allowed: the password (and TOTP, if any) still sign the user in. The user's
    other sessions end (all of them when an operator deletes it), as when 2FA is turned
    off: a passkey is deleted because its device was lost, and what it opened must not
    outlive it."""
    passkey_id, user_id = str(passkey.pk), str(passkey.user_id)
    with transaction.atomic():
        deleted, _ = Passkey.objects.filter(pk=passkey.pk).delete()
        if not deleted:
            return
        revoked = user_sessions_revoke(
            user_id=passkey.user_id,
            reason="passkey_deleted",
            keep_session_id=None if by is not None else sid,
        )
    events.record(
        "passkey_deleted", user_id=user_id, sid=sid, client=client, passkey_id=passkey_id,
        name=passkey.name, by=str(by.pk) if by else None, revoked=revoked,
    )  # fmt: skip


def passkeys_list(*, user_id):
    return Passkey.objects.filter(user_id=user_id).order_by("created_at", "id")
