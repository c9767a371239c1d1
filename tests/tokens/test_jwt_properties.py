"""Properties of access-token verification, over inputs hypothesis makes up.

Whatever arrives as an access token, `access_token_verify` either returns claims or raises
`TokenInvalid`, and the DRF authentication either authenticates or raises
`AuthenticationFailed`: nothing else escapes. A token is accepted only as it was issued,
byte for byte, and a token signed with our key is accepted only when its header and every
claim are what a genuine one carries.
"""

import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from django.test import RequestFactory
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import AuthenticationFailed

from accounts.models import User
from authsvc.http import ClientInfo
from tests.tokens.conftest import b64url
from tokens.access import access_token_issue, access_token_verify
from tokens.authentication import AccessTokenAuthentication
from tokens.conf import token_settings
from tokens.exceptions import TokenInvalid
from tokens.keys import get_keyring
from tokens.services import session_start

pytestmark = pytest.mark.fuzz

PROPERTY_SETTINGS = settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
TOKEN_ALPHABET = B64URL + ".=+/ \t\n\x00é"

segment = st.text(alphabet=B64URL, max_size=120)
token_like = st.builds(lambda a, b, c: f"{a}.{b}.{c}", segment, segment, segment)
junk = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda raw: raw.decode("latin-1")),
    st.text(alphabet=TOKEN_ALPHABET, max_size=400),
    token_like,
)


def issue() -> str:
    token, _ = access_token_issue(
        user_id=str(uuid.uuid4()),
        sid=str(uuid.uuid4()),
        roles=["staff"],
        email_verified=True,
        amr=["pwd"],
    )
    return token


@st.composite
def mutations(draw, original: str) -> str:
    """`original` with one edit that a forger or a corrupting proxy might make."""
    kind = draw(st.sampled_from(["replace", "tail", "insert", "delete", "truncate", "segments"]))
    index = draw(st.integers(min_value=0, max_value=len(original) - 1))
    char = draw(st.sampled_from(TOKEN_ALPHABET))
    if kind == "tail":
        # The signature's last base64url character also carries unused padding bits.
        return original[:-1] + char
    if kind == "replace":
        return original[:index] + char + original[index + 1 :]
    if kind == "insert":
        return original[:index] + char + original[index:]
    if kind == "delete":
        length = draw(st.integers(min_value=1, max_value=8))
        return original[:index] + original[index + length :]
    if kind == "truncate":
        return original[:index]
    parts = original.split(".")
    order = draw(st.permutations(range(3)))
    doubled = draw(st.booleans())
    mutated = [parts[i] for i in order] + ([parts[order[0]]] if doubled else [])
    return ".".join(mutated)


@given(raw=junk)
@PROPERTY_SETTINGS
def test_made_up_strings_are_refused_with_token_invalid(raw):
    with pytest.raises(TokenInvalid):
        access_token_verify(raw)


@given(data=st.data())
@PROPERTY_SETTINGS
def test_a_token_is_accepted_only_byte_for_byte(data):
    original = issue()
    assert access_token_verify(original)["sid"]
    mutated = data.draw(mutations(original))
    assume(mutated != original)

    with pytest.raises(TokenInvalid):
        access_token_verify(mutated)


# --- tokens signed with our key, with made-up headers and claims -------------------------

MISSING = object()
_now = int(time.time())


def _claim(valid, *junk_values):
    return st.one_of(st.just(valid), st.just(MISSING), *junk_values)


any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=6,
)


def claims_strategy():
    times = st.one_of(
        st.integers(min_value=-(2**40), max_value=2**40),
        st.floats(allow_nan=False),
        st.just(_now - 3600),
        st.just(_now + 3600),
        any_json,
    )
    return st.fixed_dictionaries(
        {
            "iss": _claim(token_settings.issuer, any_json, st.just("https://evil.example")),
            "aud": _claim(
                token_settings.audience, any_json, st.just([token_settings.audience, "x"])
            ),
            "sub": _claim(str(uuid.uuid4()), any_json),
            "sid": _claim(str(uuid.uuid4()), any_json, st.just(uuid.uuid4().hex.upper())),
            "jti": _claim(uuid.uuid4().hex, any_json),
            "iat": _claim(_now - 5, times),
            "exp": _claim(_now + 600, times),
            "token_type": _claim("access", any_json, st.just("refresh")),
            "roles": _claim([], any_json),
        }
    ).map(lambda claims: {k: v for k, v in claims.items() if v is not MISSING})


def header_strategy(active):
    return st.fixed_dictionaries(
        {
            "alg": st.sampled_from([active.algorithm, "none", "HS256", "RS512", "ES256", "EdDSA"]),
            "kid": st.one_of(st.just(active.kid), st.just(MISSING), any_json),
            "typ": st.one_of(st.just("JWT"), st.just(MISSING), any_json),
        }
    ).map(lambda header: {k: v for k, v in header.items() if v is not MISSING})


def forge(header: dict, claims: dict, active) -> str:
    """Sign as the header says: our private key for our algorithm, our public key as an
    HMAC secret for HS256 (algorithm confusion), nothing for `none`, garbage otherwise."""
    signing_input = (
        b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    ).encode()
    if header["alg"] == active.algorithm:
        algorithm = jwt.get_algorithm_by_name(active.algorithm)
        signature = algorithm.sign(signing_input, active.private_key)
    elif header["alg"] == "HS256":
        public_pem = active.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        signature = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    elif header["alg"] == "none":
        signature = b""
    else:
        signature = b"\x00" * 64
    return signing_input.decode() + "." + b64url(signature)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@given(data=st.data())
@PROPERTY_SETTINGS
def test_signed_tokens_are_accepted_only_with_a_genuine_header_and_claims(data):
    active = get_keyring().active
    header = data.draw(header_strategy(active))
    claims = data.draw(claims_strategy())
    token = forge(header, claims, active)

    try:
        accepted = access_token_verify(token)
    except TokenInvalid:
        return
    now = time.time()
    assert header["alg"] == active.algorithm
    assert header["kid"] == active.kid
    assert accepted["iss"] == token_settings.issuer
    aud = accepted["aud"]
    assert aud == token_settings.audience or (
        isinstance(aud, list) and token_settings.audience in aud
    )
    assert accepted["token_type"] == "access"
    assert isinstance(accepted["sub"], str) and isinstance(accepted["jti"], str)
    assert _is_number(accepted["exp"]) and accepted["exp"] > now
    assert _is_number(accepted["iat"]) and accepted["iat"] <= now + 30
    assert accepted["sid"] == str(uuid.UUID(claims["sid"]))


def test_the_genuine_claims_of_the_forging_helper_are_accepted():
    # The property above is only as good as its generator: its all-valid draw must pass.
    active = get_keyring().active
    claims = {
        "iss": token_settings.issuer,
        "aud": token_settings.audience,
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "jti": uuid.uuid4().hex,
        "iat": int(time.time()) - 5,
        "exp": int(time.time()) + 600,
        "token_type": "access",
        "roles": [],
    }

    token = forge({"alg": active.algorithm, "kid": active.kid, "typ": "JWT"}, claims, active)

    assert access_token_verify(token)["sub"] == claims["sub"]


# --- the DRF authentication ---------------------------------------------------------------


@pytest.fixture
def live_token(db):
    user = User.objects.create_user(email="props@example.com", password=None)
    issued = session_start(user=user, client=ClientInfo(ip=None, user_agent=""), amr=["pwd"])
    return issued.access_token


def _authenticate(*, header: str | None = None, cookie: str | None = None):
    request = RequestFactory().get("/auth/self/")
    if header is not None:
        request.META["HTTP_AUTHORIZATION"] = header
    if cookie is not None:
        request.COOKIES["access_token"] = cookie
    return AccessTokenAuthentication().authenticate(request)


@given(raw=junk, scheme=st.sampled_from(["Bearer ", "bearer ", "Basic ", "", "Bearer  "]))
@PROPERTY_SETTINGS
def test_the_authentication_refuses_made_up_credentials(live_token, raw, scheme):
    if scheme + raw:
        with pytest.raises(AuthenticationFailed):
            _authenticate(header=scheme + raw)
    try:
        result = _authenticate(cookie=raw)
    except AuthenticationFailed:
        return
    assert result is None and not raw  # an empty cookie is no credential at all


@given(data=st.data())
@PROPERTY_SETTINGS
def test_the_authentication_accepts_only_the_issued_token(live_token, data):
    principal, claims = _authenticate(header=f"Bearer {live_token}")
    assert principal.sid == claims["sid"]
    mutated = data.draw(mutations(live_token))
    assume(mutated.strip() != live_token)

    with pytest.raises(AuthenticationFailed):
        _authenticate(header=f"Bearer {mutated}")
    if mutated:  # an empty cookie is no credential: anonymous, not refused
        with pytest.raises(AuthenticationFailed):
            _authenticate(cookie=mutated)
