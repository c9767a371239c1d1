"""Every rule of the strict decode, each with a token that breaks only it."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from conftest import ISSUER, Key, access_claims, service_claims
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from authsvc_verifier import tokens
from authsvc_verifier.errors import InvalidToken
from authsvc_verifier.jwks import key_from_jwk

KEYS = {algorithm: Key(algorithm) for algorithm in ("RS256", "ES256", "EdDSA")}
RSA = KEYS["RS256"]
AUDIENCES = {"access": "authsvc", "service": "orders"}


def decode(token, *, accept=("access",), now=None, audiences=AUDIENCES):
    published = {key.kid: key_from_jwk(key.jwk) for key in KEYS.values()}
    return tokens.decode(
        token, key_for=published.get, issuer=ISSUER, audiences=audiences, accept=accept,
        now=time.time() if now is None else now,
    )


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def segment(value) -> str:
    return b64(json.dumps(value).encode())


def refused(token, **kwargs):
    with pytest.raises(InvalidToken):
        decode(token, **kwargs)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_a_token_of_each_algorithm_verifies(algorithm):
    claims = access_claims()
    assert decode(KEYS[algorithm].sign(claims)) == claims


def test_a_service_token_verifies_where_service_tokens_are_accepted():
    claims = service_claims()
    assert decode(RSA.sign(claims), accept=("service",)) == claims


def test_the_length_is_bounded():
    padded = access_claims(name="x" * 5400)
    assert len(RSA.sign(padded)) <= tokens.MAX_TOKEN_LENGTH
    decode(RSA.sign(padded))
    longer = RSA.sign(access_claims(name="x" * 6200))
    assert len(longer) > tokens.MAX_TOKEN_LENGTH
    refused(longer)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.rsplit(".", 1)[0],  # two segments
        lambda t: t + "=",  # padding
        lambda t: t.replace(".", ". ", 1),  # whitespace
        lambda t: t + ".e30",  # four segments
        lambda t: "",
    ],
)
def test_the_shape_is_three_bare_base64url_segments(mangle):
    refused(mangle(RSA.sign(access_claims())))


def test_base64url_has_one_spelling():
    token = RSA.sign(access_claims())
    header, payload, signature = token.split(".")
    # RS256's 256-byte signature leaves 4 unused low bits in its last character.
    last = signature[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = alphabet[alphabet.index(last) ^ 1]
    assert base64.urlsafe_b64decode(signature[:-1] + twin + "==") == base64.urlsafe_b64decode(
        signature + "=="
    )
    refused(f"{header}.{payload}.{signature[:-1]}{twin}")


def test_json_nesting_is_bounded():
    decode(RSA.sign(access_claims(roles=[[["user"]]])))  # four levels, with the object
    refused(RSA.sign(access_claims(roles=[[[["user"]]]])))
    # Far deeper than the parser's recursion: refused, not a RecursionError.
    deep = b'{"alg":"RS256","kid":"' + RSA.kid.encode() + b'","typ":' + b"[" * 5000
    refused(f"{b64(deep + b']' * 5000 + b'}')}.{segment(access_claims())}.c2ln")


@pytest.mark.parametrize("member", ["jku", "x5u", "crit", "cty", "jwk"])
def test_only_alg_typ_and_kid_in_the_header(member):
    refused(RSA.sign(access_claims(), headers={member: "x"}))


def test_an_unknown_kid_is_refused():
    stranger = Key("RS256")
    refused(stranger.sign(access_claims()))
    refused(stranger.sign(access_claims(), headers={"kid": "not-published"}))


def test_alg_none_is_refused():
    unsigned = f"{segment({'alg': 'none', 'kid': RSA.kid})}.{segment(access_claims())}.AA"
    refused(unsigned)


def test_hs256_keyed_with_the_public_key_is_refused():
    pem = RSA.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{segment({'alg': 'HS256', 'kid': RSA.kid})}.{segment(access_claims())}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    refused(f"{signing_input}.{b64(mac)}")


def test_the_algorithm_is_pinned_to_the_key():
    # An RSA key's token claiming PS256 (a valid RSA signature of another scheme).
    refused(RSA.sign(access_claims(), algorithm="PS256"))
    # The EC key's kid on a token signed by the RSA key as RS256.
    refused(RSA.sign(access_claims(), headers={"kid": KEYS["ES256"].kid}))


def test_a_tampered_payload_fails_the_signature():
    header, _, signature = RSA.sign(access_claims()).split(".")
    refused(f"{header}.{segment(access_claims(roles=['admin']))}.{signature}")


@pytest.mark.parametrize("claim", ["iss", "aud", "sub", "sid", "jti", "iat", "exp", "token_type"])
def test_each_required_claim_of_an_access_token(claim):
    refused(RSA.sign({k: v for k, v in access_claims().items() if k != claim}))


@pytest.mark.parametrize(
    "claim", ["iss", "aud", "sub", "jti", "iat", "exp", "token_type", "scope"]
)
def test_each_required_claim_of_a_service_token(claim):
    token = RSA.sign({k: v for k, v in service_claims().items() if k != claim})
    refused(token, accept=("service",))


def test_issuer_and_audience():
    refused(RSA.sign(access_claims(iss="someone-else")))
    refused(RSA.sign(access_claims(aud="orders")))
    refused(RSA.sign(access_claims(aud=["orders", "billing"])))
    decode(RSA.sign(access_claims(aud=["orders", "authsvc"])))
    # A service token for another service is not one for us.
    refused(RSA.sign(service_claims(aud="billing")), accept=("service",))
    # Without a service audience configured, no service token is taken at all.
    refused(RSA.sign(service_claims()), accept=("service",), audiences={"access": "authsvc"})


def test_exp_has_no_leeway():
    now = time.time()
    refused(RSA.sign(access_claims(exp=int(now))), now=int(now))
    decode(RSA.sign(access_claims(exp=int(now) + 1)), now=int(now))


def test_iat_and_nbf_at_most_30_seconds_ahead():
    now = int(time.time())
    decode(RSA.sign(access_claims(iat=now + 30)), now=now)
    refused(RSA.sign(access_claims(iat=now + 31)), now=now)
    refused(RSA.sign(access_claims(nbf=now + 31)), now=now)


@pytest.mark.parametrize("value", ["1999999999", True, None, [1], 1e400])
def test_times_must_be_finite_numbers(value):
    claims = access_claims()
    claims["exp"] = value
    header = segment({"alg": "RS256", "kid": RSA.kid, "typ": "JWT"})
    raw = f"{header}.{b64(json.dumps(claims).encode())}"
    signature = RSA.private.sign(raw.encode(), padding.PKCS1v15(), hashes.SHA256())
    refused(f"{raw}.{b64(signature)}")


def test_the_expected_token_type():
    refused(RSA.sign(service_claims(aud="authsvc")))  # a service token where a user's is expected
    refused(RSA.sign(access_claims(aud="orders")), accept=("service",))  # and the reverse
    refused(RSA.sign(access_claims()), accept=("service",))
    refused(RSA.sign(access_claims(token_type="refresh")), accept=("access", "service"))
    refused(RSA.sign(access_claims(token_type=["access"])))


def test_sid_is_a_uuid_and_normalised():
    refused(RSA.sign(access_claims(sid="not-a-uuid")))
    refused(RSA.sign(access_claims(sid=12)))
    sid = "A1B2C3D4-0000-4000-8000-000000000000"
    assert decode(RSA.sign(access_claims(sid=sid)))["sid"] == sid.lower()


def test_subject_and_ids_are_strings():
    refused(RSA.sign(access_claims(sub=42)))
    refused(RSA.sign(access_claims(jti=["x"])))
    refused(RSA.sign(service_claims(scope=["orders:read"])), accept=("service",))
    refused(RSA.sign(service_claims(client_id="svc_other")), accept=("service",))
    refused(RSA.sign(service_claims(client_id=None)), accept=("service",))


def test_nan_is_not_json():
    claims = json.dumps(access_claims()).replace('"exp": ', '"exp": NaN, "x": ')
    raw = f"{segment({'alg': 'EdDSA', 'kid': KEYS['EdDSA'].kid})}.{b64(claims.encode())}"
    signature = KEYS["EdDSA"].private.sign(raw.encode())
    refused(f"{raw}.{b64(signature)}")
