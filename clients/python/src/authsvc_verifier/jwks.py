"""The JWKS cache: authsvc's public keys, by `kid`, each with the one algorithm it verifies.

Fetched from `/.well-known/jwks.json`, kept for the answer's `Cache-Control: max-age`
(clamped to bounds), fetched again early when a token names a `kid` the set lacks (a
rotated key is published before it signs), but never more often than the refetch floor:
tokens with made-up `kid`s are free to send, and must not become requests to authsvc.
A failed fetch keeps the last good set.
"""

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from authsvc_verifier import _http
from authsvc_verifier.errors import AuthsvcUnavailable

logger = logging.getLogger(__name__)

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\s*(?:,|$)", re.IGNORECASE)


@dataclass(frozen=True)
class PublicKey:
    kid: str
    algorithm: str  # the only algorithm this key verifies: RS256, ES256 or EdDSA
    key: Any


@dataclass(frozen=True)
class Fetched:
    """One answer of the JWKS endpoint: the document (None for 304) and its headers."""

    status: int
    document: dict | None
    cache_control: str
    etag: str | None


def key_from_jwk(jwk: dict) -> PublicKey | None:
    """The key and its pinned algorithm, or None for a JWK we do not verify with.

    The algorithm comes from the key type (RSA: RS256; EC P-256: ES256; OKP Ed25519: EdDSA),
    and a JWK's own `alg` must agree with it. Symmetric (`oct`) keys, other curves and keys
    not for signatures are skipped: nothing in a token header can choose HS256 or `none`.
    """
    kid, kty = jwk.get("kid"), jwk.get("kty")
    if not isinstance(kid, str) or not kid or jwk.get("use", "sig") != "sig":
        return None
    if "d" in jwk:
        return None  # a private key has no place in a JWKS; refuse rather than use it
    try:
        if kty == "RSA":
            algorithm, key = "RS256", RSAAlgorithm.from_jwk(jwk)
        elif kty == "EC" and jwk.get("crv") == "P-256":
            algorithm, key = "ES256", ECAlgorithm.from_jwk(jwk)
        elif kty == "OKP" and jwk.get("crv") == "Ed25519":
            algorithm, key = "EdDSA", OKPAlgorithm.from_jwk(jwk)
        else:
            return None
    except Exception:
        logger.warning("authsvc JWKS: skipping the malformed key %s", kid)
        return None
    if jwk.get("alg", algorithm) != algorithm:
        return None
    return PublicKey(kid=kid, algorithm=algorithm, key=key)


def http_fetcher(url: str, *, timeout: float = 5.0) -> Callable[[str | None], Fetched]:
    def fetch(etag: str | None) -> Fetched:
        headers = {"If-None-Match": etag} if etag else {}
        answer = _http.request("GET", url, headers=headers, timeout=timeout)
        if answer.status == 304:
            document = None
        elif answer.status == 200:
            document = answer.json()
        else:
            raise _http.TransportError(f"JWKS answered HTTP {answer.status}")
        return Fetched(
            answer.status, document, answer.headers.get("Cache-Control", ""),
            answer.headers.get("ETag"),
        )

    return fetch


class JWKSCache:
    def __init__(
        self,
        url: str | None = None,
        *,
        fetch: Callable[[str | None], Fetched] | None = None,
        min_refetch_interval: float = 10.0,
        min_max_age: float = 30.0,
        max_max_age: float = 3600.0,
        default_max_age: float = 300.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        if (url is None) == (fetch is None):
            raise ValueError("give the JWKS url or a fetch function, not both")
        self._fetch = fetch or http_fetcher(url, timeout=timeout)
        self.min_refetch_interval = min_refetch_interval
        self.min_max_age, self.max_max_age = min_max_age, max_max_age
        self.default_max_age = default_max_age
        self._clock = clock
        self._keys: dict[str, PublicKey] | None = None  # None until a fetch succeeds
        self._etag: str | None = None
        self._fresh_until = -float("inf")
        self._last_attempt = -float("inf")
        self._generation = 0  # fetches finished, successful or not
        self._fetch_lock = threading.Lock()

    def get(self, kid: str) -> PublicKey | None:
        """The key named `kid`, fetching the set when it is stale or lacks `kid` (within the
        refetch floor). None for a `kid` authsvc does not publish."""
        keys = self._keys
        if keys is not None and self._clock() < self._fresh_until:
            key = keys.get(kid)
            if key is not None:
                return key
        keys = self._refresh(kid)
        if keys is None:
            raise AuthsvcUnavailable("authsvc's public keys could not be fetched yet.")
        return keys.get(kid)

    def keys(self) -> dict[str, PublicKey]:
        """The current key set, fetched first if never fetched (for health checks)."""
        return dict(self._refresh() or {}) if self._keys is None else dict(self._keys)

    def _refresh(self, kid: str | None = None) -> dict[str, PublicKey] | None:
        generation = self._generation
        with self._fetch_lock:
            now = self._clock()
            # Another thread fetched while this one waited for the lock: use its result.
            if self._generation != generation or (
                kid is not None and self._keys and kid in self._keys and now < self._fresh_until
            ):
                return self._keys
            # The floor holds for stale sets too, so a failing authsvc is asked at most once
            # per interval however many requests arrive meanwhile.
            if now - self._last_attempt < self.min_refetch_interval:
                return self._keys
            self._last_attempt = now
            try:
                fetched = self._fetch(self._etag)
                keys = self._keys if fetched.document is None else _parse(fetched.document)
            except (_http.TransportError, ValueError, TypeError, AttributeError, KeyError) as exc:
                logger.warning("authsvc JWKS fetch failed, keeping the last good set: %s", exc)
                return self._keys
            finally:
                self._generation += 1
            if keys is None:  # a 304 to a conditional request we never made
                return None
            self._keys, self._etag = keys, fetched.etag
            self._fresh_until = now + self._max_age(fetched.cache_control)
            return keys

    def _max_age(self, cache_control: str) -> float:
        if _NO_CACHE.search(cache_control):
            return self.min_max_age
        match = _MAX_AGE.search(cache_control)
        age = float(match.group(1)) if match else self.default_max_age
        return min(max(age, self.min_max_age), self.max_max_age)


def _parse(document: dict) -> dict[str, PublicKey]:
    entries = document["keys"]
    if not isinstance(entries, list):
        raise ValueError("JWKS `keys` is not a list")
    keys = (key_from_jwk(jwk) for jwk in entries if isinstance(jwk, dict))
    return {key.kid: key for key in keys if key is not None}
