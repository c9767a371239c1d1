"""The hand-rolled verifier (tokens.backends) accepts its own tokens for every algorithm it
signs with, and refuses what PyJWT's decode would also refuse."""

import json

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.tokens.conftest import b64url, b64url_decode
from tokens.access import access_token_issue, access_token_verify
from tokens.exceptions import TokenInvalid
from tokens.keys import get_keyring

SID = "8f4d8a53-8f33-4f55-a5ac-3fb3d0b0cd39"


def issue() -> str:
    token, _ = access_token_issue(
        user_id="u-1", sid=SID, roles=["staff"], email_verified=True, amr=["pwd"]
    )
    return token


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_every_algorithm_round_trips(use_keys, algorithm):
    use_keys(algorithm)

    claims = access_token_verify(issue())

    assert claims["sub"] == "u-1" and claims["sid"] == SID and claims["roles"] == ["staff"]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + "=",  # padding is not base64url
        lambda t: t.replace(".", ". ", 1),  # whitespace
        lambda t: t + ".extra",  # a fourth segment (JWE shape)
        lambda t: t.rsplit(".", 1)[0] + ".",  # no signature
        lambda t: t.rsplit(".", 1)[0] + ".A",  # a signature that is not base64
        lambda t: "",
    ],
)
def test_malformed_shapes_are_refused(use_keys, mangle):
    use_keys("ES256")

    with pytest.raises(TokenInvalid):
        access_token_verify(mangle(issue()))


def _claims(token: str) -> dict:
    return json.loads(b64url_decode(token.split(".")[1]))


def test_a_header_member_we_never_write_is_refused(use_keys):
    use_keys("RS256")
    active = get_keyring().active
    claims = _claims(issue())
    forged = jwt.encode(
        claims, active.private_key, algorithm="RS256", headers={"kid": active.kid, "crit": []}
    )

    with pytest.raises(TokenInvalid):
        access_token_verify(forged)


def test_a_time_that_is_not_a_finite_number_is_refused(use_keys):
    use_keys("RS256")
    active = get_keyring().active
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": active.kid}).encode())
    payload = b64url(json.dumps({**_claims(issue()), "exp": float("inf")}).encode())
    signature = active.private_key.sign(
        f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )

    with pytest.raises(TokenInvalid):
        access_token_verify(f"{header}.{payload}.{b64url(signature)}")


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_a_second_spelling_of_the_same_signature_is_refused(use_keys, algorithm):
    """Flipping the unused low bits of the last base64url character keeps the decoded
    signature, and so its validity; the verifier still accepts one spelling only."""
    use_keys(algorithm)
    token = issue()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    unused_bits = {2: 4, 3: 2}[len(token.rsplit(".", 1)[1]) % 4]
    last = alphabet.index(token[-1])
    twin = token[:-1] + alphabet[last ^ ((1 << unused_bits) - 1)]
    assert b64url_decode(twin.rsplit(".", 1)[1]) == b64url_decode(token.rsplit(".", 1)[1])

    with pytest.raises(TokenInvalid):
        access_token_verify(twin)
