"""Signing keys on disk and the JWKS document built from them.

Each key is one PEM file in AUTHSVC_KEYS_DIR named `key-<UTC timestamp>-<kid>.pem`; its
algorithm follows from the key type (RSA: RS256, P-256: ES256, Ed25519: EdDSA) and its
`kid` is the RFC 7638 thumbprint of the public key. The timestamp is the key's activation
time: of the keys of the configured algorithm whose time has come, the newest signs. Every
key in the folder verifies and is published, those still waiting for their time too (that
is what the wait is for, see `PUBLISH_DELAY`), and so are older ones, because tokens they
signed may still be alive. Keys moved to `retired/` are neither.
"""

import base64
import fcntl
import hashlib
import json
import logging
import math
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from authsvc import clock
from tokens.conf import SUPPORTED_ALGORITHMS, token_settings

logger = logging.getLogger(__name__)

RSA_KEY_BITS = 2048
KEY_GLOB = "key-*.pem"
# How often a process looks at the folder for keys another process added (rotation).
RESCAN_INTERVAL_SECONDS = 5.0
# How far apart the clocks of the hosts sharing the folder may be.
CLOCK_MARGIN_SECONDS = 5.0
# A rotated key waits this long between being written and signing. Every process rescans
# within RESCAN_INTERVAL_SECONDS, so by then each lists it in its JWKS and verifies it: no
# process signs with a key that another's JWKS (or its own) does not show yet. Twice the
# interval plus the clock margin leaves room for a slow rescan and skewed clocks.
PUBLISH_DELAY = timedelta(seconds=2 * RESCAN_INTERVAL_SECONDS + CLOCK_MARGIN_SECONDS)

_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}


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


def public_jwk(public_key, algorithm: str) -> dict:
    if algorithm == "RS256":
        jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    elif algorithm == "ES256":
        jwk = ECAlgorithm.to_jwk(public_key, as_dict=True)
    else:
        jwk = OKPAlgorithm.to_jwk(public_key, as_dict=True)
    return {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}


def jwk_thumbprint(jwk: dict) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, without whitespace."""
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


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


class Keyring:
    """The keys of one folder, loaded once and re-read when the folder changes."""

    def __init__(self, directory: Path, algorithm: str):
        if algorithm not in SUPPORTED_ALGORITHMS:
            raise KeyringError(f"AUTHSVC_JWT_ALGORITHM must be one of {SUPPORTED_ALGORITHMS}")
        self.directory = directory
        self.algorithm = algorithm
        self._lock = threading.Lock()
        self._by_kid: dict[str, SigningKey] = {}
        self._signers: list[SigningKey] = []
        self._active: SigningKey | None = None
        # When the active key must be chosen again: the next waiting key's activation.
        self._active_until = math.inf
        self._folder_mtime: int | None = None
        self._checked_at = 0.0
        self.jwks_body = b""
        self.jwks_etag = ""
        self._load(ensure_active=True)

    def _load(self, *, ensure_active: bool) -> None:
        # The folder's mtime is read before listing it, so a key written during the listing
        # shows up at the next rescan rather than never.
        folder_mtime = self._mtime()
        paths = sorted(self.directory.glob(KEY_GLOB)) if self.directory.is_dir() else []
        keys = load_keys(paths)
        if ensure_active and not any(k.algorithm == self.algorithm for k in keys):
            keys.append(self._create_first_key())
        by_kid = {key.kid: key for key in keys}
        signers = sorted(
            (k for k in keys if k.algorithm == self.algorithm),
            key=lambda k: (k.active_from, k.path.name),
        )
        document = {"keys": [k.public_jwk for k in sorted(keys, key=lambda k: k.path.name)]}
        body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
        with self._lock:
            self._by_kid = by_kid
            self._signers = signers
            self._choose_active()
            self.jwks_body = body
            self.jwks_etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            self._folder_mtime = folder_mtime
            self._checked_at = time.monotonic()

    def _choose_active(self) -> None:
        """The newest signer whose activation time has come; until the first one's has (a
        host with a clock behind the one that wrote it), the first one."""
        now = clock.now()
        signers = self._signers
        ready = [k for k in signers if k.active_from <= now]
        self._active = ready[-1] if ready else (signers[0] if signers else None)
        waiting = [k for k in signers if k.active_from > now]
        self._active_until = waiting[0].active_from.timestamp() if waiting else math.inf

    def _create_first_key(self) -> SigningKey:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Several workers may start on an empty folder at once; one creates, the rest load.
        with open(self.directory / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                existing = load_keys(sorted(self.directory.glob(KEY_GLOB)))
                matching = [k for k in existing if k.algorithm == self.algorithm]
                if matching:
                    return matching[-1]
                return write_new_key(self.directory, self.algorithm)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _mtime(self) -> int | None:
        try:
            return self.directory.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def _maybe_rescan(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked_at < RESCAN_INTERVAL_SECONDS:
            return
        self._checked_at = now
        if self._mtime() != self._folder_mtime:
            try:
                self._load(ensure_active=True)
            except KeyringError:
                # A half-copied or foreign file must not take the running service down: keep
                # serving with the keys we have and say so loudly.
                logger.exception("keys folder %s changed but cannot be loaded", self.directory)
                self._folder_mtime = self._mtime()

    @property
    def active(self) -> SigningKey:
        self._maybe_rescan()
        if clock.now().timestamp() >= self._active_until:
            # A rotated key's publish delay is over: it signs from now on.
            with self._lock:
                self._choose_active()
        assert self._active is not None  # noqa: S101 - _load(ensure_active=True) made one
        return self._active

    def get(self, kid: str) -> SigningKey | None:
        key = self._by_kid.get(kid)
        if key is None:
            # A key another worker just rotated in; the rescan is cheap when nothing changed.
            self._maybe_rescan(force=True)
            key = self._by_kid.get(kid)
        return key

    def published(self) -> list[SigningKey]:
        """Every published key, oldest first."""
        self._maybe_rescan()
        return sorted(self._by_kid.values(), key=lambda k: (k.active_from, k.path.name))

    def jwks(self) -> tuple[bytes, str]:
        self._maybe_rescan()
        return self.jwks_body, self.jwks_etag

    def reload(self) -> None:
        self._load(ensure_active=True)


_keyrings: dict[tuple[str, str], Keyring] = {}
_keyrings_lock = threading.Lock()


def get_keyring() -> Keyring:
    """The keyring for the configured folder and algorithm, one per process."""
    # The raw settings, not token_settings.keys_dir: building a Path on every request shows
    # in the profile of the hot path.
    cache_key = (settings.AUTHSVC_KEYS_DIR, settings.AUTHSVC_JWT_ALGORITHM)
    keyring = _keyrings.get(cache_key)
    if keyring is None:
        with _keyrings_lock:
            keyring = _keyrings.get(cache_key)
            if keyring is None:
                keyring = Keyring(token_settings.keys_dir, token_settings.algorithm)
                _keyrings[cache_key] = keyring
    return keyring
