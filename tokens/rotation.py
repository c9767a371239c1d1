"""Signing-key rotation and retirement (`manage.py rotate_signing_key`, `purge_expired`).

Rotation writes a new key stamped to activate `PUBLISH_DELAY` (15 s) later. Every process
rescans the folder within 5 s, so the key is in every process's JWKS, and verifies
everywhere, before any process signs with it; at its activation time it signs, everywhere
at once. The old keys stay in the folder, so they keep verifying and stay in the JWKS while
their tokens may be alive.

Retirement rule: a key stopped signing when the first newer key of the configured
algorithm activated; an access token lives at most `AUTHSVC_ACCESS_TTL_SECONDS`, so once
that much time (plus `RETIRE_MARGIN` for clock skew between processes) has passed since,
no token it signed can still be valid and the key moves to `retired/`. Keys of another
algorithm that no newer key of the configured one has replaced are never retired here.
"""

import logging
import os
from datetime import datetime, timedelta

from audit import events
from authsvc import clock
from tokens.conf import token_settings
from tokens.keys import PUBLISH_DELAY, SigningKey, get_keyring, write_new_key

logger = logging.getLogger(__name__)

RETIRED_DIR = "retired"
RETIRE_MARGIN = timedelta(minutes=1)


def signing_key_rotate() -> SigningKey:
    """A new signing key: published at once, signing from its `active_from`, PUBLISH_DELAY
    from now, so that no process signs with a key some JWKS does not list yet."""
    keyring = get_keyring()
    active_from = clock.now() + PUBLISH_DELAY
    newest = max((k.active_from for k in keyring.published()), default=None)
    if newest is not None and newest >= active_from:
        # The newest key signs: the new one must sort after every existing key even if the
        # host that made the last one had a clock ahead of ours.
        active_from = newest + timedelta(microseconds=1)
    key = write_new_key(token_settings.keys_dir, token_settings.algorithm, active_from)
    keyring.reload()
    events.record(
        "signing_key_rotated",
        kid=key.kid,
        algorithm=key.algorithm,
        active_from=key.active_from.isoformat(),
    )
    return key


def signing_keys_retirable(*, now: datetime | None = None) -> list[SigningKey]:
    now = now or clock.now()
    keyring = get_keyring()
    keys = keyring.published()
    signers = [k for k in keys if k.algorithm == token_settings.algorithm]
    retirable = []
    for key in keys:
        successors = [
            k.active_from
            for k in signers
            if (k.active_from, k.path.name) > (key.active_from, key.path.name)
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
