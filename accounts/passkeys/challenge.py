"""The WebAuthn challenges: random, single use, bound to their ceremony (and to the user
and session that asked), expiring after CHALLENGE_TTL_SECONDS.

The browser signs the challenge into `clientDataJSON`, so the answer names its challenge
itself; the server keeps only its SHA-256 (`PasskeyChallenge`) and deletes the row when an
answer uses it, whatever the outcome: a replayed answer finds nothing. In PostgreSQL like
the 2FA challenge, so passkeys work while Redis is down.
"""

import hashlib
import json
import secrets
from datetime import datetime, timedelta

from accounts.exceptions import InvalidCredential
from accounts.passkeys.models import PasskeyChallenge
from authsvc import clock
from authsvc.batching import delete_in_batches

CHALLENGE_TTL_SECONDS = 300
# clientDataJSON is a small document; a bound keeps a hostile one from costing anything.
_CLIENT_DATA_MAX_CHARS = 4096


def _digest(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


def challenge_issue(*, purpose: str, user_id=None, session_id: str = "") -> bytes:
    challenge = secrets.token_bytes(32)
    PasskeyChallenge.objects.create(
        digest=_digest(challenge),
        purpose=purpose,
        user_id=user_id,
        session_id=session_id or "",
        expires_at=clock.now() + timedelta(seconds=CHALLENGE_TTL_SECONDS),
    )
    return challenge


def answered_challenge(credential) -> bytes:
    """The challenge a credential's `clientDataJSON` says it answers (not yet trusted: the
    library compares it with the issued one and checks the signature over it)."""
    from webauthn.helpers import base64url_to_bytes  # on first use: docs/performance.md, "Memory"

    try:
        client_data = credential["response"]["clientDataJSON"]
        if not isinstance(client_data, str) or len(client_data) > _CLIENT_DATA_MAX_CHARS:
            raise ValueError("clientDataJSON")
        challenge = json.loads(base64url_to_bytes(client_data))["challenge"]
        return base64url_to_bytes(challenge)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidCredential() from exc


def challenge_consume(
    credential, *, purpose: str, user_id=None, session_id: str = "", error=InvalidCredential
) -> bytes:
    """The issued challenge this credential answers, deleted so it serves once; `error`
    when it was not issued for this ceremony (and user and session), expired or was used."""
    try:
        challenge = answered_challenge(credential)
    except InvalidCredential as exc:
        raise error() from exc
    rows = PasskeyChallenge.objects.filter(
        digest=_digest(challenge),
        purpose=purpose,
        user_id=user_id,
        session_id=session_id or "",
        expires_at__gt=clock.now(),
    )
    # Of two racing answers only one deletes the row (the other waits on its lock, then
    # finds nothing).
    deleted, _ = rows.delete()
    if not deleted:
        raise error()
    return challenge


def passkey_challenges_purge(*, now: datetime, batch_size: int) -> int:
    """Delete the challenges that expired unanswered."""
    return delete_in_batches(
        PasskeyChallenge.objects.filter(expires_at__lt=now), batch_size=batch_size
    )
