"""The keyring: the keys of one folder, loaded once per process and re-read when the folder
changes (a rotation by another process), choosing the key that signs."""

import fcntl
import logging
import math
import threading
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings

from authsvc import clock
from tokens.conf import SUPPORTED_ALGORITHMS, token_settings
from tokens.keys.files import (
    KEY_GLOB,
    KeyringError,
    SigningKey,
    load_keys,
    write_new_key,
)
from tokens.keys.jwks import jwks_document

logger = logging.getLogger(__name__)

# How often a process looks at the folder for keys another process added (rotation).
RESCAN_INTERVAL_SECONDS = 5.0
# How far apart the clocks of the hosts sharing the folder may be.
CLOCK_MARGIN_SECONDS = 5.0
# A rotated key waits this long between being written and signing. Every process rescans
# within RESCAN_INTERVAL_SECONDS, so by then each lists it in its JWKS and verifies it: no
# process signs with a key that another's JWKS (or its own) does not show yet. Twice the
# interval plus the clock margin leaves room for a slow rescan and skewed clocks.
PUBLISH_DELAY = timedelta(seconds=2 * RESCAN_INTERVAL_SECONDS + CLOCK_MARGIN_SECONDS)


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
        body, etag = jwks_document(keys)
        with self._lock:
            self._by_kid = by_kid
            self._signers = signers
            self._choose_active()
            self.jwks_body = body
            self.jwks_etag = etag
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
