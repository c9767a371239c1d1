"""The three liveness modes over a stand-in authsvc: signature, introspection (its cache, its
answer checked against the token, the unreachable choice), feed (covered or not)."""

import base64
import time

import pytest
from conftest import access_claims, dead_url, service_claims

from authsvc_verifier import (
    AuthsvcUnavailable,
    DenySet,
    Introspector,
    InvalidToken,
    JWKSCache,
    Verifier,
    basic_credential,
)


class Clock:
    def __init__(self):
        self.now = time.time()

    def __call__(self):
        return self.now


def introspecting(authsvc, **options):
    options.setdefault("credential", basic_credential("svc_orders", "s3cret:/+"))
    return Verifier(
        authsvc.base,
        mode="introspection",
        service_audience="orders",
        introspector=Introspector(authsvc.base, **options),
    )


def active_for(claims):
    return lambda form, headers: (200, {"active": True, **claims, "roles": ["user", "support"]})


def test_signature_mode_takes_a_valid_token_without_asking(authsvc, key):
    claims = access_claims()
    principal = Verifier(authsvc.base).verify(key.sign(claims))
    assert (principal.user_id, principal.session_id) == (claims["sub"], claims["sid"])
    assert principal.roles == {"user"} and principal.permissions == {"orders:read"}
    assert principal.checked_by == "signature"
    assert "/auth/verify/" not in authsvc.calls


def test_introspection_asks_with_the_service_credential(authsvc, key):
    claims = access_claims()
    authsvc.introspect = active_for(claims)
    token = key.sign(claims)
    principal = introspecting(authsvc).verify(token)
    assert principal.checked_by == "introspection"
    assert principal.roles == {"user", "support"}  # authsvc's current answer
    path, form, headers = authsvc.requests[0]
    assert (path, form) == ("/auth/verify/", {"token": token})
    scheme, encoded = headers["Authorization"].split()
    assert scheme == "Basic"
    assert base64.b64decode(encoded) == b"svc_orders:s3cret%3A%2F%2B"  # RFC 6749 2.3.1


def test_an_inactive_answer_refuses_and_is_cached_until_exp(authsvc, key):
    clock = Clock()
    claims = access_claims(exp=int(clock.now) + 60)
    verifier = introspecting(authsvc, clock=clock)
    token = key.sign(claims)
    for _ in range(3):
        with pytest.raises(InvalidToken):
            verifier.verify(token)
    assert authsvc.calls["/auth/verify/"] == 1
    clock.now += 59
    with pytest.raises(InvalidToken):
        verifier.verify(token)
    assert authsvc.calls["/auth/verify/"] == 1


def test_an_active_answer_is_cached_for_the_configured_seconds(authsvc, key):
    clock = Clock()
    claims = access_claims()
    authsvc.introspect = active_for(claims)
    verifier = introspecting(authsvc, cache_seconds=5, clock=clock)
    token = key.sign(claims)
    verifier.verify(token)
    clock.now += 4.9
    verifier.verify(token)
    assert authsvc.calls["/auth/verify/"] == 1
    authsvc.introspect = lambda form, headers: (200, {"active": False})  # logged out
    clock.now += 0.2
    with pytest.raises(InvalidToken):
        verifier.verify(token)
    assert authsvc.calls["/auth/verify/"] == 2


def test_cache_seconds_zero_asks_every_time(authsvc, key):
    claims = access_claims()
    authsvc.introspect = active_for(claims)
    verifier = introspecting(authsvc, cache_seconds=0)
    for _ in range(3):
        verifier.verify(key.sign(claims))
    assert authsvc.calls["/auth/verify/"] == 3


def test_the_answer_must_be_about_this_token(authsvc, key):
    claims = access_claims()
    authsvc.introspect = active_for({**claims, "sub": "someone-else"})
    with pytest.raises(InvalidToken):
        introspecting(authsvc).verify(key.sign(claims))
    authsvc.introspect = active_for({**claims, "token_type": "service"})
    with pytest.raises(InvalidToken):
        introspecting(authsvc, cache_seconds=0).verify(key.sign(access_claims(sub=claims["sub"])))


def test_forged_tokens_never_reach_authsvc(authsvc, key):
    verifier = introspecting(authsvc)
    with pytest.raises(InvalidToken):
        verifier.verify(key.sign(access_claims(iss="elsewhere")))
    assert "/auth/verify/" not in authsvc.calls


def test_unreachable_authsvc_fails_closed_by_default(authsvc, key):
    verifier = Verifier(
        authsvc.base,
        mode="introspection",
        introspector=Introspector(dead_url(), credential=basic_credential("a", "b")),
    )
    with pytest.raises(AuthsvcUnavailable):
        verifier.verify(key.sign(access_claims()))


def test_unreachable_authsvc_fails_open_when_chosen(authsvc, key):
    verifier = Verifier(
        authsvc.base,
        mode="introspection",
        introspector=Introspector(
            dead_url(), credential=basic_credential("a", "b"), on_unavailable="fail_open"
        ),
    )
    assert verifier.verify(key.sign(access_claims())).checked_by == "signature"
    # A 5xx is unavailability too.
    authsvc.introspect = lambda form, headers: (502, {"error": "bad_gateway"})
    open_verifier = introspecting(authsvc, on_unavailable="fail_open")
    assert open_verifier.verify(key.sign(access_claims())).checked_by == "signature"
    with pytest.raises(AuthsvcUnavailable):
        introspecting(authsvc).verify(key.sign(access_claims()))


def test_a_refused_credential_never_fails_open(authsvc, key):
    authsvc.introspect = lambda form, headers: (401, {"error": "invalid_client"})
    verifier = introspecting(authsvc, on_unavailable="fail_open")
    with pytest.raises(AuthsvcUnavailable):
        verifier.verify(key.sign(access_claims()))


def test_a_refused_service_token_credential_is_renewed_once(authsvc, key):
    renewed = []
    claims = access_claims()
    answers = iter([(401, {"error": "invalid_client"}), (200, {"active": True, **claims})])
    authsvc.introspect = lambda form, headers: next(answers)
    verifier = introspecting(
        authsvc,
        credential=lambda: {"Authorization": f"Bearer token-{len(renewed)}"},
        on_credential_refused=lambda: renewed.append(1),
    )
    verifier.verify(key.sign(claims))
    assert renewed == [1]
    assert [r[2]["Authorization"] for r in authsvc.requests] == ["Bearer token-0", "Bearer token-1"]


def test_service_tokens_are_introspected_too(authsvc, key):
    claims = service_claims()
    authsvc.introspect = lambda form, headers: (200, {"active": True, **claims})
    principal = introspecting(authsvc).verify(key.sign(claims), accept=("service",))
    assert principal.is_service and principal.client_id == "svc_billing"
    assert principal.scopes == {"orders:read", "orders:write"}


class StaticFeed:
    def __init__(self, *, since=0.0, healthy=True):
        self.deny = DenySet(ttl=960)
        self.since, self.healthy = since, healthy

    def covers(self, issued_at):
        return self.healthy and issued_at >= self.since

    def is_revoked(self, **kwargs):
        return self.deny.is_revoked(**kwargs)


def feed_verifier(authsvc, feed):
    return Verifier(
        authsvc.base, mode="feed", feed=feed, service_audience="orders",
        introspector=Introspector(authsvc.base, credential=basic_credential("a", "b")),
    )


def test_feed_mode_decides_alone_for_tokens_it_covers(authsvc, key):
    feed = StaticFeed()
    verifier = feed_verifier(authsvc, feed)
    claims = access_claims()
    assert verifier.verify(key.sign(claims)).checked_by == "feed"
    feed.deny.apply({"type": "session.revoked", "session_id": claims["sid"],
                     "user_id": claims["sub"], "occurred_at": _now_rfc3339()})
    with pytest.raises(InvalidToken):
        verifier.verify(key.sign(claims))
    assert "/auth/verify/" not in authsvc.calls


def test_feed_mode_falls_back_to_introspection_when_it_cannot_know(authsvc, key):
    claims = access_claims(iat=int(time.time()) - 100)
    authsvc.introspect = active_for(claims)
    verifier = feed_verifier(authsvc, StaticFeed(since=time.time() - 10))  # started later
    assert verifier.verify(key.sign(claims)).checked_by == "introspection"
    verifier = feed_verifier(authsvc, StaticFeed(healthy=False))  # a gap in reading
    fresh = access_claims()
    authsvc.introspect = lambda form, headers: (200, {"active": False})
    with pytest.raises(InvalidToken):
        verifier.verify(key.sign(fresh))
    assert authsvc.calls["/auth/verify/"] == 2


def test_modes_are_checked_at_construction(authsvc):
    with pytest.raises(ValueError):
        Verifier(authsvc.base, mode="introspection")
    with pytest.raises(ValueError):
        Verifier(authsvc.base, mode="feed", introspector=Introspector(
            authsvc.base, credential=basic_credential("a", "b")))
    with pytest.raises(ValueError):
        Verifier(authsvc.base, mode="sometimes")
    with pytest.raises(ValueError):
        Introspector(authsvc.base, credential=basic_credential("a", "b"), on_unavailable="maybe")


def test_jwks_cache_is_shared_with_the_verifier(authsvc, key):
    jwks = JWKSCache(authsvc.base + "/.well-known/jwks.json")
    verifier = Verifier(authsvc.base, jwks=jwks)
    verifier.verify(key.sign(access_claims()))
    verifier.verify(key.sign(access_claims()))
    assert authsvc.calls["/.well-known/jwks.json"] == 1


def _now_rfc3339():
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
