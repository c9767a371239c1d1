"""Liveness by asking authsvc: `POST /auth/verify/` (RFC 7662) with this service's credential.

An answer is cached by the token's SHA-256: `active: true` for a few seconds (the staleness
this service accepts; 0 disables it), `active: false` until the token's `exp` (a dead token
never comes back). What happens when authsvc cannot answer is the service's explicit
choice, closed by default.
"""

import base64
import hashlib
import logging
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable
from typing import Literal

from authsvc_verifier import _http
from authsvc_verifier.errors import AuthsvcUnavailable, InvalidToken

logger = logging.getLogger(__name__)

OnUnavailable = Literal["fail_closed", "fail_open"]


def basic_credential(client_id: str, client_secret: str) -> Callable[[], dict[str, str]]:
    """client_secret_basic (RFC 6749 §2.3.1): both parts form-encoded, then Base64."""
    quote = urllib.parse.quote_plus
    pair = f"{quote(client_id)}:{quote(client_secret)}"
    value = "Basic " + base64.b64encode(pair.encode()).decode()
    return lambda: {"Authorization": value}


class Introspector:
    def __init__(
        self,
        base_url: str,
        *,
        credential: Callable[[], dict[str, str]],
        cache_seconds: float = 5.0,
        on_unavailable: OnUnavailable = "fail_closed",
        max_entries: int = 10_000,
        timeout: float = 2.0,
        on_credential_refused: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        if on_unavailable not in ("fail_closed", "fail_open"):
            raise ValueError("on_unavailable is 'fail_closed' or 'fail_open'")
        self.url = base_url.rstrip("/") + "/auth/verify/"
        self.credential = credential
        self.cache_seconds = cache_seconds
        self.on_unavailable = on_unavailable
        self.max_entries = max_entries
        self.timeout = timeout
        self._credential_refused = on_credential_refused
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, token: str, claims: dict) -> dict | None:
        """authsvc's answer for a token whose signature and claims already verified: the
        introspection fields when active, InvalidToken when not. When authsvc cannot
        answer: AuthsvcUnavailable (fail_closed), or None (fail_open: the signature stands).
        """
        key = hashlib.sha256(token.encode()).hexdigest()
        answer = self._cached(key)
        if answer is None:
            try:
                answer = self._ask(token)
            except _Unreachable as exc:
                if self.on_unavailable == "fail_closed":
                    raise AuthsvcUnavailable() from exc
                logger.warning("authsvc introspection unavailable; accepting on signature alone")
                return None
            self._remember(key, answer, claims)
        if not answer.get("active"):
            raise InvalidToken("The token is no longer active.")
        # authsvc's answer must be about the token we verified, not merely "some token".
        if answer.get("token_type") != claims["token_type"] or answer.get("sub") != claims["sub"]:
            raise InvalidToken()
        return answer

    def _ask(self, token: str, *, retried: bool = False) -> dict:
        try:
            answer = _http.request(
                "POST", self.url, headers=self.credential(), form={"token": token},
                timeout=self.timeout,
            )
        except _http.TransportError as exc:
            raise _Unreachable(str(exc)) from exc
        if answer.status == 401 and self._credential_refused is not None and not retried:
            # A service token credential may have been revoked or expired early: get a new one.
            self._credential_refused()
            return self._ask(token, retried=True)
        if 400 <= answer.status < 500:
            # This service's credential refused (or its request): a misconfiguration that
            # must be loud, and never a reason to accept tokens unchecked, whatever
            # on_unavailable says.
            logger.error("authsvc refused this service's introspection: HTTP %s", answer.status)
            raise AuthsvcUnavailable("This service could not check the token with authsvc.")
        try:
            body = answer.json() if answer.status == 200 else None
        except _http.TransportError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("active"), bool):
            raise _Unreachable(f"HTTP {answer.status}")
        return body

    def _cached(self, key: str) -> dict | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._cache[key]
                return None
            return entry[1]

    def _remember(self, key: str, answer: dict, claims: dict) -> None:
        now = self._clock()
        if answer.get("active"):
            until = min(now + self.cache_seconds, float(claims["exp"]))
        else:
            until = float(claims["exp"])  # revoked stays revoked; after exp, signature fails
        if until <= now:
            return
        with self._lock:
            self._cache[key] = (until, answer)
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)


class _Unreachable(Exception):
    """authsvc gave no usable answer: the case `on_unavailable` decides."""
