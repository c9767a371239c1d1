"""This service's own tokens: OAuth 2.0 client credentials at `POST /auth/token/`.

    client = ServiceAuthClient("https://auth.example.com", client_id, client_secret)
    urllib.request.Request(url, headers=client.headers(scope="orders:read", audience="orders"))
    requests.get(url, auth=client.auth(scope="orders:read", audience="orders"))

Tokens are cached per (scope, audience) until `refresh_margin` seconds before they expire;
concurrent callers needing the same token wait for one request rather than each sending one.
"""

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from authsvc_verifier import _http
from authsvc_verifier.errors import AuthsvcUnavailable, ServiceAuthError
from authsvc_verifier.introspection import basic_credential


@dataclass(frozen=True)
class ServiceToken:
    access_token: str
    scope: str
    expires_at: float  # by this client's clock


class BearerAuth:
    """A `requests` auth object (any callable taking and returning a prepared request)."""

    def __init__(self, client: "ServiceAuthClient", scope: str | None, audience: str | None):
        self.client, self.scope, self.audience = client, scope, audience

    def __call__(self, request):
        request.headers.update(self.client.headers(scope=self.scope, audience=self.audience))
        return request


class ServiceAuthClient:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        refresh_margin: float = 30.0,
        timeout: float = 5.0,
        authsvc_audience: str = "authsvc",
        clock: Callable[[], float] = time.time,
    ):
        """`authsvc_audience` is authsvc's own (`AUTHSVC_JWT_AUDIENCE`), the audience of
        tokens for its endpoints (introspection)."""
        self.authsvc_audience = authsvc_audience
        self.url = base_url.rstrip("/") + "/auth/token/"
        self.client_id = client_id
        self._credential = basic_credential(client_id, client_secret)
        self.refresh_margin = refresh_margin
        self.timeout = timeout
        self._clock = clock
        self._tokens: dict[tuple[str, str], ServiceToken] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def token(self, *, scope: str | Iterable[str] | None = None, audience: str | None = None):
        """A token for `scope` (space-separated or a list; None: every scope the client
        may have) and `audience` (None: authsvc picks the client's first allowed audience,
        else its own)."""
        key = (_scope_text(scope), audience or "")
        cached = self._tokens.get(key)
        if cached is not None and self._fresh(cached):
            return cached.access_token
        with self._lock_for(key):
            cached = self._tokens.get(key)  # another thread may have fetched it meanwhile
            if cached is None or not self._fresh(cached):
                cached = self._fetch(*key)
                self._tokens[key] = cached
        return cached.access_token

    def headers(self, *, scope=None, audience: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(scope=scope, audience=audience)}"}

    def auth(self, *, scope=None, audience: str | None = None) -> BearerAuth:
        return BearerAuth(self, _scope_text(scope) or None, audience)

    def invalidate(self, *, scope=None, audience: str | None = None) -> None:
        """Forget a cached token (say, after the receiving service answered 401 to it)."""
        self._tokens.pop((_scope_text(scope), audience or ""), None)

    def introspection_credential(self) -> Callable[[], dict[str, str]]:
        """This client as an Introspector's credential: a service token with scope
        `introspect` for authsvc's own audience (the alternative is basic_credential)."""
        return lambda: self.headers(scope="introspect", audience=self.authsvc_audience)

    def _fresh(self, token: ServiceToken) -> bool:
        return token.expires_at - self._clock() > self.refresh_margin

    def _lock_for(self, key) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(key, threading.Lock())

    def _fetch(self, scope: str, audience: str) -> ServiceToken:
        form = {"grant_type": "client_credentials"}
        if scope:
            form["scope"] = scope
        if audience:
            form["audience"] = audience
        asked_at = self._clock()
        try:
            answer = _http.request(
                "POST", self.url, headers=self._credential(), form=form, timeout=self.timeout
            )
            body = answer.json()
        except _http.TransportError as exc:
            raise AuthsvcUnavailable("authsvc's token endpoint did not answer.") from exc
        if answer.status != 200 or not isinstance(body, dict):
            body = body if isinstance(body, dict) else {}
            if answer.status >= 500:
                raise AuthsvcUnavailable("authsvc's token endpoint failed.")
            raise ServiceAuthError(
                str(body.get("error", "invalid_request")),
                str(body.get("error_description", "")),
                status=answer.status,
            )
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not isinstance(expires_in, int | float):
            raise AuthsvcUnavailable("authsvc's token endpoint answered an unexpected body.")
        # Counted from before the request: the token is never believed to live longer than it does.
        return ServiceToken(token, str(body.get("scope", scope)), asked_at + float(expires_in))


def _scope_text(scope) -> str:
    if scope is None:
        return ""
    names = scope.split() if isinstance(scope, str) else list(scope)
    return " ".join(sorted(set(names)))
