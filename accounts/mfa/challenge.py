"""The login challenge: what a correct first factor earns when the account has 2FA.

The browser holds it as a signed cookie naming the user, the first factor and a random
challenge id; the server holds the id in the cache until it expires, fails too often or
is completed. The signature stops forgery and swapping in another account; the
server-side id makes each challenge complete at most once.
"""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.cache import cache

from accounts.exceptions import MfaChallengeExpired
from authsvc import clock
from authsvc.ratelimit import counter_incr

_SALT = "authsvc.mfa.challenge"
_KEY = "authsvc:mfa:challenge:{}"
_FAILURES_KEY = "authsvc:mfa:challenge-failures:{}"
# Redis expiry is on the wall clock; the signed expiry (checked on authsvc.clock) decides.
_CACHE_SLACK_SECONDS = 5


@dataclass(frozen=True, slots=True)
class Challenge:
    id: str
    user_id: str
    amr: tuple[str, ...]  # the first factor, e.g. ("pwd",)
    expires_at: int  # Unix seconds
    token: str  # the signed cookie value


def challenge_issue(*, user_id: str, amr: list[str]) -> Challenge:
    challenge_id = secrets.token_urlsafe(24)
    ttl = settings.AUTHSVC_MFA_CHALLENGE_TTL_SECONDS
    expires_at = int(clock.now().timestamp()) + ttl
    token = signing.dumps(
        {"c": challenge_id, "u": user_id, "a": list(amr), "e": expires_at},
        salt=_SALT,
        compress=True,
    )
    cache.set(_KEY.format(challenge_id), user_id, timeout=ttl + _CACHE_SLACK_SECONDS)
    return Challenge(challenge_id, user_id, tuple(amr), expires_at, token)


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
    if cache.get(_KEY.format(challenge.id)) != challenge.user_id:
        raise MfaChallengeExpired()
    return challenge


def challenge_fail(challenge: Challenge) -> None:
    """Count a wrong code; after AUTHSVC_MFA_CHALLENGE_MAX_FAILURES the challenge is gone
    and the password has to be entered again."""
    failures = counter_incr(
        _FAILURES_KEY.format(challenge.id),
        timeout=settings.AUTHSVC_MFA_CHALLENGE_TTL_SECONDS + _CACHE_SLACK_SECONDS,
    )
    if failures >= settings.AUTHSVC_MFA_CHALLENGE_MAX_FAILURES:
        challenge_end(challenge)


def challenge_consume(challenge: Challenge) -> None:
    """Complete the challenge; of two racing completions only one gets past here."""
    if not cache.delete(_KEY.format(challenge.id)):
        raise MfaChallengeExpired()
    cache.delete(_FAILURES_KEY.format(challenge.id))


def challenge_end(challenge: Challenge) -> None:
    cache.delete_many([_KEY.format(challenge.id), _FAILURES_KEY.format(challenge.id)])
