"""Signing-key rotation and retirement (`manage.py rotate_signing_key`, `purge_expired`).

Rotation writes a new key; being the newest of the configured algorithm, it signs from
then on, in every process within the keyring's rescan interval. The old keys stay in the
folder, so they keep verifying and stay in the JWKS while their tokens may be alive.

Retirement rule: a key stopped signing when the first newer key of the configured
algorithm appeared; an access token lives at most `AUTHSVC_ACCESS_TTL_SECONDS`, so once
that much time (plus `RETIRE_MARGIN` for clock skew between processes) has passed since,
no token it signed can still be valid and the key moves to `retired/`. Keys of another
algorithm that no newer key of the configured one has replaced are never retired here.
"""

import logging
import os
from datetime import datetime, timedelta

from accounts import events
from authsvc import clock
from tokens.conf import token_settings
from tokens.keys import SigningKey, get_keyring, write_new_key

logger = logging.getLogger(__name__)

RETIRED_DIR = "retired"
RETIRE_MARGIN = timedelta(minutes=1)


def signing_key_rotate() -> SigningKey:
    """A new signing key, active at once in this process."""
    keyring = get_keyring()
    created_at = clock.now()
    newest = max((k.created_at for k in keyring.published()), default=None)
    if newest is not None and newest >= created_at:
        # The newest key signs: the new one must sort after every existing key even if the
        # host that made the last one had a clock ahead of ours.
        created_at = newest + timedelta(microseconds=1)
    key = write_new_key(token_settings.keys_dir, token_settings.algorithm, created_at)
    keyring.reload()
    events.record("signing_key_rotated", kid=key.kid, algorithm=key.algorithm)
    return key


def signing_keys_retirable(*, now: datetime | None = None) -> list[SigningKey]:
    now = now or clock.now()
    keyring = get_keyring()
    keys = keyring.published()
    signers = [k for k in keys if k.algorithm == token_settings.algorithm]
    retirable = []
    for key in keys:
        successors = [
            k.created_at
            for k in signers
            if (k.created_at, k.path.name) > (key.created_at, key.path.name)
        ]
        if not successors:
            continue
        stopped_signing = min(successors)
        if now >= stopped_signing + token_settings.access_ttl + RETIRE_MARGIN:
            retirable.append(key)
    return retirable


def signing_keys_retire(*, now: datetime | None = None) -> list[SigningKey]:
    """Move every key whose tokens have all expired into `retired/`; returns them."""
    retirable = signing_keys_retirable(now=now)
    if not retirable:
        return []
    retired_dir = token_settings.keys_dir / RETIRED_DIR
    retired_dir.mkdir(mode=0o700, exist_ok=True)
    for key in retirable:
        # A rename within one filesystem: other processes see the key either published or
        # retired, never half-moved.
        os.replace(key.path, retired_dir / key.path.name)
        events.record("signing_key_retired", kid=key.kid, algorithm=key.algorithm)
    get_keyring().reload()
    return retirable
