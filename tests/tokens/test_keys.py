"""The keyring: key files on disk, their `kid`s, rotation and retirement."""

import re
import stat
import threading
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from rest_framework.test import APIClient

from tests.tokens.conftest import (
    JWKS_PATH,
    assert_error,
    rfc7638_thumbprint,
    token_parts,
)
from tokens.keys import (
    KEY_GLOB,
    Keyring,
    KeyringError,
    get_keyring,
    jwk_thumbprint,
    public_jwk,
    write_new_key,
)

# RFC 7638 section 3.1: the example RSA key and its thumbprint.
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY"
    "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM"
    "4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)
RFC7638_E = "AQAB"
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

KEY_FILE_NAME = re.compile(r"^key-(\d{8}T\d{12}Z)-([A-Za-z0-9_-]{43})\.pem$")
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def _b64url_uint(text: str) -> int:
    return int.from_bytes(jwt.utils.base64url_decode(text), "big")


def _key_files(folder):
    return sorted(folder.glob(KEY_GLOB))


def _jwks(client) -> dict:
    response = client.get(JWKS_PATH)
    assert response.status_code == 200
    return response.json()


# --- the first key ---------------------------------------------------------------------


def test_first_key_is_created_in_a_missing_folder(use_keys):
    folder = use_keys("RS256")
    assert not folder.exists()

    keyring = get_keyring()

    files = _key_files(folder)
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    # The folder holds private keys: nobody but the service's user may list it.
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    match = KEY_FILE_NAME.match(files[0].name)
    assert match, files[0].name
    assert match.group(2) == keyring.active.kid
    assert keyring.active.path == files[0]
    assert keyring.active.algorithm == "RS256"
    assert isinstance(keyring.active.private_key, rsa.RSAPrivateKey)
    assert keyring.active.private_key.key_size == 2048


def test_first_key_is_created_in_an_empty_folder(use_keys):
    folder = use_keys("ES256")
    folder.mkdir(mode=0o700)

    keyring = get_keyring()

    files = _key_files(folder)
    assert [f.name for f in files] == [keyring.active.path.name]
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert keyring.active.algorithm == "ES256"


def test_first_key_is_written_as_unencrypted_pkcs8_pem(keyring):
    pem = keyring.active.path.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    loaded = serialization.load_pem_private_key(pem, password=None)
    assert loaded.private_numbers() == keyring.active.private_key.private_numbers()


def test_an_existing_key_is_loaded_not_replaced(use_keys):
    folder = use_keys("RS256")
    existing = write_new_key(folder, "RS256")

    keyring = get_keyring()

    assert keyring.active.kid == existing.kid
    assert _key_files(folder) == [existing.path]


def test_workers_starting_together_on_an_empty_folder_share_one_key(use_keys):
    folder = use_keys("ES256")
    workers = 8
    start = threading.Barrier(workers)

    def boot() -> str:
        start.wait()
        return Keyring(folder, "ES256").active.kid

    with ThreadPoolExecutor(max_workers=workers) as pool:
        kids = list(pool.map(lambda _: boot(), range(workers)))

    assert len(_key_files(folder)) == 1
    assert len(set(kids)) == 1


def test_unsupported_algorithm_is_refused(use_keys):
    folder = use_keys("HS256")
    with pytest.raises(KeyringError):
        get_keyring()
    assert not folder.exists() or not _key_files(folder)


# --- kid = RFC 7638 thumbprint --------------------------------------------------------


def test_thumbprint_of_the_rfc7638_example_key():
    public_key = rsa.RSAPublicNumbers(
        e=_b64url_uint(RFC7638_E), n=_b64url_uint(RFC7638_N)
    ).public_key()

    jwk = public_jwk(public_key, "RS256")

    assert jwk == {"kty": "RSA", "n": RFC7638_N, "e": RFC7638_E}
    assert jwk_thumbprint(jwk) == RFC7638_THUMBPRINT
    # Members beyond the required ones do not change the thumbprint (RFC 7638 section 3.3).
    assert jwk_thumbprint({**jwk, "kid": "x", "alg": "RS256", "use": "sig"}) == RFC7638_THUMBPRINT
    assert rfc7638_thumbprint(jwk) == RFC7638_THUMBPRINT


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_kid_is_the_thumbprint_of_the_published_key(db, use_keys, api, algorithm):
    use_keys(algorithm)
    active = get_keyring().active

    (published,) = _jwks(api)["keys"]

    assert published["kid"] == active.kid
    assert rfc7638_thumbprint(published) == active.kid


# --- each algorithm makes working keys and tokens --------------------------------------

ALGORITHM_KEYS = {
    "RS256": ({"kty": "RSA", "alg": "RS256"}, rsa.RSAPrivateKey),
    "ES256": ({"kty": "EC", "crv": "P-256", "alg": "ES256"}, ec.EllipticCurvePrivateKey),
    "EdDSA": ({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA"}, ed25519.Ed25519PrivateKey),
}


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_each_algorithm_signs_tokens_that_verify(db, use_keys, api, algorithm):
    use_keys(algorithm)
    active = get_keyring().active
    expected_members, key_class = ALGORITHM_KEYS[algorithm]
    assert active.algorithm == algorithm
    assert isinstance(active.private_key, key_class)
    if algorithm == "ES256":
        assert isinstance(active.private_key.curve, ec.SECP256R1)

    registered = api.register()
    assert registered.status_code == 201, registered.content
    token = api.cookie("access_token")

    header, claims, _ = token_parts(token)
    assert header["alg"] == algorithm
    assert header["kid"] == active.kid
    (published,) = _jwks(api)["keys"]
    assert published.items() >= {**expected_members, "kid": active.kid, "use": "sig"}.items()
    assert not PRIVATE_JWK_MEMBERS & set(published)
    verified = jwt.decode(
        token,
        jwt.PyJWK(published).key,
        algorithms=[algorithm],
        audience="authsvc",
        issuer="authsvc",
    )
    assert verified == claims
    assert verified["sub"] == registered.json()["id"]

    me = api.get("/auth/self/")
    assert me.status_code == 200, me.content
    assert me.json()["id"] == registered.json()["id"]


# --- rotation -------------------------------------------------------------------------


def test_a_second_key_is_picked_up_published_and_signs(db, use_keys, api):
    folder = use_keys("RS256")
    keyring = get_keyring()
    first = keyring.active
    assert api.register().status_code == 201
    old_token = api.cookie("access_token")

    # Another process (or the operator) rotates a key into the folder.
    second = write_new_key(folder, "RS256")
    keyring.reload()

    assert keyring.active.kid == second.kid
    assert {k["kid"] for k in _jwks(api)["keys"]} == {first.kid, second.kid}
    # Tokens signed before the rotation stay valid until they expire.
    assert api.get("/auth/self/").status_code == 200
    new_login = api.post_json("/auth/refresh/")
    assert new_login.status_code == 200, new_login.content
    new_token = api.cookie("access_token")
    assert new_token != old_token
    assert token_parts(new_token)[0]["kid"] == second.kid
    assert api.get("/auth/self/").status_code == 200
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {old_token}")
    assert bearer.get("/auth/self/").status_code == 200


def test_a_rotated_key_is_found_by_the_periodic_rescan(db, use_keys, api, monkeypatch):
    folder = use_keys("RS256")
    keyring = get_keyring()
    first = keyring.active
    assert api.register().status_code == 201
    # No reload(): the keyring notices the folder changed on its next periodic look.
    monkeypatch.setattr("tokens.keys.keyring.RESCAN_INTERVAL_SECONDS", 0)

    rotated = write_new_key(folder, "RS256")

    assert {k["kid"] for k in _jwks(api)["keys"]} == {first.kid, rotated.kid}
    assert api.post_json("/auth/refresh/").status_code == 200
    assert token_parts(api.cookie("access_token"))[0]["kid"] == rotated.kid


def test_a_token_with_a_just_rotated_kid_is_verified_without_waiting(db, use_keys, api):
    folder = use_keys("RS256")
    keyring = get_keyring()
    assert api.register().status_code == 201
    old_claims = token_parts(api.cookie("access_token"))[1]

    # Another worker rotated in a key and signed with it; this process has not rescanned.
    rotated = write_new_key(folder, "RS256")
    token = jwt.encode(
        old_claims, rotated.private_key, algorithm="RS256", headers={"kid": rotated.kid}
    )

    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = bearer.get("/auth/self/")
    assert response.status_code == 200, response.content
    assert keyring.get(rotated.kid) is not None


def test_keys_of_another_algorithm_are_published_and_verify_but_do_not_sign(db, use_keys, api):
    folder = use_keys("RS256")
    rsa_key = get_keyring().active
    assert api.register().status_code == 201
    rsa_token = api.cookie("access_token")

    # The operator switches the algorithm; the RSA key's tokens are still alive.
    use_keys("ES256")
    assert str(folder) == str(get_keyring().directory)
    es_key = get_keyring().active

    assert es_key.algorithm == "ES256"
    assert es_key.kid != rsa_key.kid
    published = {k["kid"]: k["alg"] for k in _jwks(api)["keys"]}
    assert published == {rsa_key.kid: "RS256", es_key.kid: "ES256"}
    assert api.get("/auth/self/").status_code == 200
    assert token_parts(rsa_token)[0]["alg"] == "RS256"
    assert api.post_json("/auth/refresh/").status_code == 200
    assert token_parts(api.cookie("access_token"))[0] == {
        "alg": "ES256",
        "kid": es_key.kid,
        "typ": "JWT",
    }


# --- retirement -----------------------------------------------------------------------


def test_a_retired_key_is_no_longer_published_nor_trusted(db, use_keys, api):
    folder = use_keys("RS256")
    keyring = get_keyring()
    first = keyring.active
    assert api.register().status_code == 201
    old_token = api.cookie("access_token")
    second = write_new_key(folder, "RS256")
    keyring.reload()

    (folder / "retired").mkdir()
    first.path.rename(folder / "retired" / first.path.name)
    keyring.reload()

    assert [k["kid"] for k in _jwks(api)["keys"]] == [second.kid]
    assert keyring.get(first.kid) is None
    assert keyring.active.kid == second.kid
    assert_error(api.get("/auth/self/"), 401, "invalid_token")
    assert token_parts(old_token)[0]["kid"] == first.kid


def test_retiring_the_newest_key_hands_signing_back_to_the_previous_one(use_keys):
    folder = use_keys("ES256")
    keyring = get_keyring()
    first = keyring.active
    second = write_new_key(folder, "ES256")
    keyring.reload()
    assert keyring.active.kid == second.kid

    (folder / "retired").mkdir()
    second.path.rename(folder / "retired" / second.path.name)
    keyring.reload()

    assert keyring.active.kid == first.kid
    assert keyring.get(second.kid) is None


def test_retiring_every_key_creates_a_new_one(use_keys):
    folder = use_keys("EdDSA")
    keyring = get_keyring()
    first = keyring.active

    (folder / "retired").mkdir()
    first.path.rename(folder / "retired" / first.path.name)
    keyring.reload()

    assert keyring.active.kid != first.kid
    assert keyring.get(first.kid) is None
    assert [p.name for p in _key_files(folder)] == [keyring.active.path.name]


# --- broken key files -----------------------------------------------------------------


def _encrypted_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )


def _public_pem() -> bytes:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _p384_pem() -> bytes:
    return ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


BROKEN_PEMS = {
    "garbage": lambda: (
        b"-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n"
    ),
    "empty": lambda: b"",
    "encrypted": _encrypted_pem,
    "public_key": _public_pem,
    "unsupported_curve": _p384_pem,
}


@pytest.mark.parametrize("kind", sorted(BROKEN_PEMS))
def test_an_unusable_key_file_raises_keyring_error(use_keys, kind):
    folder = use_keys("RS256")
    folder.mkdir(mode=0o700)
    (folder / "key-20240101T000000000000Z-broken.pem").write_bytes(BROKEN_PEMS[kind]())

    with pytest.raises(KeyringError):
        get_keyring()


def test_an_unusable_key_file_found_on_reload_raises_keyring_error(use_keys):
    folder = use_keys("RS256")
    keyring = get_keyring()
    (folder / "key-20990101T000000000000Z-broken.pem").write_bytes(b"not a pem")

    with pytest.raises(KeyringError):
        keyring.reload()


def test_a_broken_file_appearing_at_runtime_does_not_take_signing_down(use_keys, caplog):
    from tokens.keys import RESCAN_INTERVAL_SECONDS, get_keyring

    keys_dir = use_keys("RS256")
    keyring = get_keyring()
    active = keyring.active
    (keys_dir / "key-20990101T000000000000Z-broken.pem").write_text("not a key")
    keyring._checked_at -= RESCAN_INTERVAL_SECONDS + 1

    with caplog.at_level("ERROR", logger="tokens.keys.keyring"):
        assert keyring.active == active

    assert keyring.get(active.kid) == active
    assert any("cannot be loaded" in r.getMessage() for r in caplog.records)
