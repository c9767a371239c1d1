"""Key files: one PEM private key per file in AUTHSVC_KEYS_DIR, named
`key-<UTC activation timestamp>-<kid>.pem`; generated, written atomically and loaded here."""

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from authsvc import clock
from tokens.conf import SUPPORTED_ALGORITHMS
from tokens.keys.jwks import jwk_thumbprint, public_jwk

logger = logging.getLogger(__name__)

RSA_KEY_BITS = 2048
KEY_GLOB = "key-*.pem"


class KeyringError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    algorithm: str
    private_key: object
    public_key: object
    active_from: datetime  # when it may start signing (the file name's timestamp)
    path: Path
    public_jwk: dict = field(repr=False)


def algorithm_for(private_key) -> str:
    if isinstance(private_key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and isinstance(
        private_key.curve, ec.SECP256R1
    ):
        return "ES256"
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    raise KeyringError(f"unsupported key type {type(private_key).__name__}")


def generate_private_key(algorithm: str):
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise KeyringError(f"AUTHSVC_JWT_ALGORITHM must be one of {SUPPORTED_ALGORITHMS}")


def load_key(path: Path) -> SigningKey:
    try:
        private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyringError(f"{path} is not an unencrypted PEM private key") from exc
    algorithm = algorithm_for(private_key)
    public_key = private_key.public_key()
    jwk = public_jwk(public_key, algorithm)
    kid = jwk_thumbprint(jwk)
    stamp = path.name.split("-")[1]
    try:
        active_from = datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    except ValueError:
        active_from = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    return SigningKey(
        kid=kid,
        algorithm=algorithm,
        private_key=private_key,
        public_key=public_key,
        active_from=active_from,
        path=path,
        public_jwk={**jwk, "kid": kid, "alg": algorithm, "use": "sig"},
    )


def load_keys(paths) -> list[SigningKey]:
    """The keys of `paths`, skipping a file that is gone by the time it is read: another
    process retired it (moved it to `retired/`) between our listing and our reading, which
    must cost that one key, not the request (or worker start) that happened to look."""
    keys = []
    for path in paths:
        try:
            keys.append(load_key(path))
        except FileNotFoundError:
            logger.info("key file %s went away while loading; skipped", path.name)
    return keys


def write_new_key(
    directory: Path, algorithm: str, active_from: datetime | None = None
) -> SigningKey:
    """Create a key file that may sign from `active_from` (now by default); the folder
    stays private to the service's user."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_key = generate_private_key(algorithm)
    kid = jwk_thumbprint(public_jwk(private_key.public_key(), algorithm))
    # The service's clock, the one retirement (tokens.rotation) measures key ages against.
    stamp = (active_from or clock.now()).astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = directory / f"key-{stamp}-{kid}.pem"
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Written under a name the keyring does not read, then renamed into place: a process
    # rescanning the folder meanwhile (a rotation while the service runs) must never load
    # a half-written file.
    partial = directory / f".partial-{path.name}"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    return load_key(path)
