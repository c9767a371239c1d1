"""The login challenge: what a correct first factor earns when the account has 2FA.

The browser holds it as a signed cookie naming the user, the first factor and a random
challenge id; the server holds the id's digest in PostgreSQL (`MfaChallenge`) until it
expires, fails too often or is completed, so a 2FA login works while Redis is down. The
signature stops forgery and swapping in another account; the server-side row makes each
challenge complete at most once.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing
from django.db.models import F

from accounts.exceptions import MfaChallengeExpired
from accounts.models import MfaChallenge
from authsvc import clock
from authsvc.batching import delete_in_batches

_SALT = "authsvc.mfa.challenge"


@dataclass(frozen=True, slots=True)
class Challenge:
    id: str
    user_id: str
    amr: tuple[str, ...]  # the first factor, e.g. ("pwd",)
    expires_at: int  # Unix seconds
    token: str  # the signed cookie value

    @property
    def digest(self) -> str:
        # The table holds no id that would complete a challenge if it leaked.
        return hashlib.sha256(self.id.encode()).hexdigest()


def challenge_issue(*, user_id: str, amr: list[str]) -> Challenge:
    challenge_id = secrets.token_urlsafe(24)
    ttl = settings.AUTHSVC_MFA_CHALLENGE_TTL_SECONDS
    expires_at = int(clock.now().timestamp()) + ttl
    token = signing.dumps(
        {"c": challenge_id, "u": user_id, "a": list(amr), "e": expires_at},
        salt=_SALT,
        compress=True,
    )
    challenge = Challenge(challenge_id, user_id, tuple(amr), expires_at, token)
    MfaChallenge.objects.create(
        id_digest=challenge.digest,
        user_id=user_id,
        expires_at=datetime.fromtimestamp(expires_at, tz=UTC),
    )
    return challenge


def challenge_load(token: str | None) -> Challenge:
    """The live challenge a cookie names, or MfaChallengeExpired."""
    if not token or len(token) > 1024:
        raise MfaChallengeExpired()
    try:
        data = signing.loads(token, salt=_SALT)
        challenge = Challenge(
            id=str(data["c"]),
            user_id=str(data["u"]),
            amr=tuple(str(method) for method in data["a"]),
            expires_at=int(data["e"]),
            token=token,
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise MfaChallengeExpired() from exc
    if clock.now().timestamp() >= challenge.expires_at:
        raise MfaChallengeExpired()
    if not MfaChallenge.objects.filter(
        id_digest=challenge.digest, user_id=challenge.user_id
    ).exists():
        raise MfaChallengeExpired()
    return challenge


def challenge_fail(challenge: Challenge) -> None:
    """Count a wrong code; after AUTHSVC_MFA_CHALLENGE_MAX_FAILURES the challenge is gone
    and the password has to be entered again."""
    rows = MfaChallenge.objects.filter(id_digest=challenge.digest)
    # One statement, so parallel wrong codes cannot both read the same count.
    rows.update(failures=F("failures") + 1)
    rows.filter(failures__gte=settings.AUTHSVC_MFA_CHALLENGE_MAX_FAILURES).delete()


def challenge_consume(challenge: Challenge) -> None:
    """Complete the challenge; of two racing completions only one gets past here (the
    DELETE's row lock makes the other wait, then find nothing)."""
    deleted, _ = MfaChallenge.objects.filter(id_digest=challenge.digest).delete()
    if not deleted:
        raise MfaChallengeExpired()


def challenge_end(challenge: Challenge) -> None:
    MfaChallenge.objects.filter(id_digest=challenge.digest).delete()


def challenges_purge(*, now: datetime, batch_size: int) -> int:
    """Delete the challenges that expired unanswered."""
    return delete_in_batches(MfaChallenge.objects.filter(expires_at__lt=now), batch_size=batch_size)
