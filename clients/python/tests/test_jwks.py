"""The JWKS cache: max-age within bounds, the unknown-kid refetch and its floor, the last good
set kept through failures, one fetch for many threads, and keys pinned to one algorithm."""

import threading
import time

import pytest
from conftest import Key

from authsvc_verifier import _http
from authsvc_verifier.errors import AuthsvcUnavailable
from authsvc_verifier.jwks import Fetched, JWKSCache, key_from_jwk


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Source:
    """A fetch function serving `keys` with `cache_control`, or failing while `down`."""

    def __init__(self, keys, cache_control="public, max-age=300"):
        self.keys, self.cache_control, self.down, self.calls = list(keys), cache_control, False, 0
        self.etags_sent = []

    def __call__(self, etag):
        self.calls += 1
        self.etags_sent.append(etag)
        if self.down:
            raise _http.TransportError("refused")
        return Fetched(200, {"keys": [k.jwk for k in self.keys]}, self.cache_control, '"v1"')


def cache(source, clock, **options):
    return JWKSCache(fetch=source, clock=clock, **options)


def test_over_http_with_the_answers_max_age(authsvc, key):
    jwks = JWKSCache(authsvc.base + "/.well-known/jwks.json")
    assert jwks.get(key.kid).algorithm == "RS256"
    assert jwks.get(key.kid) is not None
    assert authsvc.calls["/.well-known/jwks.json"] == 1


@pytest.mark.parametrize(
    ("cache_control", "fresh_for"),
    [
        ("public, max-age=300", 300),
        ("max-age=5", 30),  # below the floor
        ("public, max-age=999999", 3600),  # above the ceiling
        ("", 300),  # no header: the default
        ("no-store", 30),
    ],
)
def test_max_age_is_honoured_within_bounds(cache_control, fresh_for):
    key, clock = Key(), Clock()
    source = Source([key], cache_control)
    jwks = cache(source, clock)
    jwks.get(key.kid)
    clock.now += fresh_for - 0.5
    jwks.get(key.kid)
    assert source.calls == 1
    clock.now += 1
    jwks.get(key.kid)
    assert source.calls == 2
    assert source.etags_sent == [None, '"v1"']


def test_an_unknown_kid_refetches_at_most_once_per_floor():
    old, new, clock = Key(), Key(), Clock()
    source = Source([old])
    jwks = cache(source, clock, min_refetch_interval=10)
    assert jwks.get(old.kid) is not None
    clock.now += 11
    source.keys.append(new)  # a rotation: published before it signs
    assert jwks.get(new.kid) is not None
    assert source.calls == 2
    # A flood of made-up kids: at most one fetch per floor interval.
    for i in range(1000):
        assert jwks.get(f"forged-{i}") is None
    assert source.calls == 2
    clock.now += 10
    for i in range(1000):
        jwks.get(f"forged-again-{i}")
    assert source.calls == 3


def test_the_last_good_set_survives_a_failing_authsvc():
    key, clock = Key(), Clock()
    source = Source([key], "max-age=60")
    jwks = cache(source, clock)
    jwks.get(key.kid)
    source.down = True
    clock.now += 61  # stale
    assert jwks.get(key.kid) is not None  # refetch failed, the last good key still serves
    assert source.calls == 2
    for _ in range(100):
        jwks.get(key.kid)
    assert source.calls == 2  # a failing authsvc is asked once per floor, not per request
    source.down = False
    clock.now += 10
    jwks.get(key.kid)
    assert source.calls == 3


def test_never_fetched_is_unavailable_not_invalid():
    source, clock = Source([Key()]), Clock()
    source.down = True
    with pytest.raises(AuthsvcUnavailable):
        cache(source, clock).get("any")


def test_a_non_200_answer_keeps_the_last_good_set(authsvc, key):
    jwks = JWKSCache(authsvc.base + "/.well-known/jwks.json", min_refetch_interval=0)
    assert jwks.get(key.kid) is not None
    authsvc.jwks_status = 500
    authsvc.keys = []
    assert jwks.get("unknown") is None
    assert jwks.get(key.kid) is not None
    assert authsvc.calls["/.well-known/jwks.json"] == 2  # the unknown kid asked, and failed


def test_many_threads_meeting_a_new_kid_cause_one_fetch():
    old, new = Key(), Key()

    class Slow(Source):
        def __call__(self, etag):
            time.sleep(0.2)
            return super().__call__(etag)

    source = Slow([old])
    jwks = JWKSCache(fetch=source, min_refetch_interval=0.0)
    jwks.get(old.kid)
    source.keys.append(new)
    results, barrier = [], threading.Barrier(20)

    def worker():
        barrier.wait()
        results.append(jwks.get(new.kid))

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result is not None for result in results) and len(results) == 20
    assert source.calls == 2


def test_each_key_type_pins_its_one_algorithm():
    assert key_from_jwk(Key("RS256").jwk).algorithm == "RS256"
    assert key_from_jwk(Key("ES256").jwk).algorithm == "ES256"
    assert key_from_jwk(Key("EdDSA").jwk).algorithm == "EdDSA"
    # Without `alg`, the type decides; a contradicting `alg` drops the key.
    assert key_from_jwk({**Key("ES256").jwk, "alg": None} | {}) is None
    jwk = dict(Key("ES256").jwk)
    del jwk["alg"]
    assert key_from_jwk(jwk).algorithm == "ES256"
    assert key_from_jwk({**Key("RS256").jwk, "alg": "HS256"}) is None
    assert key_from_jwk({**Key("RS256").jwk, "alg": "PS256"}) is None


def test_keys_we_never_verify_with_are_skipped():
    assert key_from_jwk({"kty": "oct", "k": "c2VjcmV0", "kid": "h", "alg": "HS256"}) is None
    assert key_from_jwk({**Key("RS256").jwk, "use": "enc"}) is None
    assert key_from_jwk({**Key("RS256").jwk, "d": "AQAB"}) is None  # a private key
    assert key_from_jwk({k: v for k, v in Key().jwk.items() if k != "kid"}) is None
    assert key_from_jwk({"kty": "RSA", "kid": "x", "n": "!!", "e": "AQAB"}) is None
    secp384 = {"kty": "EC", "crv": "P-384", "kid": "x", "x": "AA", "y": "AA"}
    assert key_from_jwk(secp384) is None
