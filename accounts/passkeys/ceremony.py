"""The WebAuthn checks the passkey flows share (accounts/passkeys/services.py): options in
py_webauthn's JSON form, an assertion verified against its stored credential with the
signature counter judged (clone detection), and the events of a refused one.

py_webauthn (with pyasn1, pyOpenSSL and its attestation formats, about 5 MB of a worker) is
imported inside the functions that use it: most requests never touch a passkey, so a
worker loads it on its first ceremony (docs/performance.md, "Memory")."""

import json
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from accounts.exceptions import InvalidCredential, MfaNotEnabled
from accounts.passkeys.challenge import CHALLENGE_TTL_SECONDS, challenge_issue
from accounts.passkeys.models import Passkey
from audit import events
from authsvc import clock
from authsvc.http import ClientInfo

# The credential documents browsers send are a few kilobytes; a bound before any parsing.
CREDENTIAL_MAX_CHARS = 16_384


def options_json(options) -> dict:
    from webauthn import options_to_json

    # py_webauthn's own JSON form: binary fields as base64url, camelCase names, what
    # PublicKeyCredential.parseCreationOptionsFromJSON() and friends take.
    return json.loads(options_to_json(options))


def descriptor(passkey: Passkey):
    from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

    return PublicKeyCredentialDescriptor(
        id=bytes(passkey.credential_id),
        transports=[AuthenticatorTransport(t) for t in passkey.transports],
    )


def credential_shape(credential, error: type[InvalidCredential]) -> dict:
    if not isinstance(credential, dict) or len(json.dumps(credential)) > CREDENTIAL_MAX_CHARS:
        raise error()
    return credential


@dataclass(frozen=True, slots=True)
class Checked:
    passkey: Passkey | None
    failure: str | None  # None: verified, counter moved on
    stored_count: int = 0
    presented_count: int = 0


def credential_id_of(credential: dict) -> bytes:
    raw_id = credential.get("rawId") or credential.get("id")
    if not isinstance(raw_id, str) or len(raw_id) > 1400:
        raise ValueError("rawId")
    from webauthn.helpers import base64url_to_bytes

    return base64url_to_bytes(raw_id)


def assertion_check(
    credential: dict, *, challenge: bytes, require_uv: bool, user_id=None
) -> Checked:
    """Verify an assertion against the stored credential and move its counter on, under
    the credential's row lock so two uses of a cloned key cannot both pass."""
    from webauthn import verify_authentication_response
    from webauthn.helpers import base64url_to_bytes
    from webauthn.helpers.exceptions import WebAuthnException

    try:
        credential_id = credential_id_of(credential)
    except (TypeError, ValueError):
        return Checked(None, "malformed")
    with transaction.atomic():
        passkey = (
            Passkey.objects.select_for_update()
            .select_related("user")
            .filter(credential_id=credential_id)
            .first()
        )
        if passkey is None or (user_id is not None and str(passkey.user_id) != str(user_id)):
            return Checked(None, "unknown_credential")
        try:
            handle = (credential.get("response") or {}).get("userHandle")
            if handle and base64url_to_bytes(handle) != passkey.user_id.bytes:
                return Checked(passkey, "user_handle_mismatch")
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
            return Checked(passkey, "verification_failed")
        stored, presented = passkey.sign_count, verified.new_sign_count
        # WebAuthn §7.2 step 21: a counter that does not grow, when either is non-zero,
        # means two authenticators hold the key. Refused, and the counter stays where it was.
        if (stored or presented) and presented <= stored:
            return Checked(passkey, "counter_regressed", stored, presented)
        passkey.sign_count = presented
        passkey.backed_up = verified.credential_backed_up
        passkey.last_used_at = clock.now()
        passkey.save(update_fields=["sign_count", "backed_up", "last_used_at"])
    return Checked(passkey, None)


def assertion_refused(
    checked: Checked, *, client: ClientInfo, event: str, user_id=None, sid=None, **details
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


def user_request_options(*, user_id, purpose: str, session_id: str = "") -> dict:
    from webauthn import generate_authentication_options
    from webauthn.helpers.structs import UserVerificationRequirement

    passkeys = list(Passkey.objects.filter(user_id=user_id))
    if not passkeys:
        raise MfaNotEnabled("This account has no passkey.")
    challenge = challenge_issue(purpose=purpose, user_id=user_id, session_id=session_id)
    options = generate_authentication_options(
        rp_id=settings.AUTHSVC_WEBAUTHN_RP_ID,
        challenge=challenge,
        timeout=CHALLENGE_TTL_SECONDS * 1000,
        allow_credentials=[descriptor(passkey) for passkey in passkeys],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_json(options)
