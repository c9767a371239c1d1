"""Reads: the snapshot of a session, from the store or, on a miss, from the database."""

import logging

from django.db import DEFAULT_DB_ALIAS

from accounts.mfa.devices import user_has_totp
from authsvc import clock
from sessions_store.backends import get_session_store
from sessions_store.backends.base import REVOKED, SessionStoreUnavailable, Snapshot
from sessions_store.models import Session
from sessions_store.revocations import revocations_sync, session_denied, tombstone_ttl_seconds
from tokens.conf import token_settings

logger = logging.getLogger(__name__)


def snapshot_build(session: Session) -> Snapshot:
    """What requests need about a session's user, read from the database."""
    user = session.user
    return Snapshot(
        sid=str(session.id),
        user_id=str(user.pk),
        email=user.email,
        name=user.name,
        roles=sorted(user.groups.values_list("name", flat=True)),
        email_verified=user.email_verified,
        mfa_enabled=user_has_totp(user),
        date_joined=user.date_joined.isoformat(),
        amr=list(session.amr),
        auth_time=int(session.authenticated_at().timestamp()),
        permissions=list(session.permissions),
        attributes=dict(session.attributes),
    )


def snapshot_ttl_seconds(session: Session) -> int:
    """A snapshot lives one access-token lifetime at most, so if a revocation ever failed to
    reach the store, the database is asked again within that time."""
    return snapshot_ttl_until(session.expires_at)


def snapshot_ttl_until(expires_at) -> int:
    remaining = (expires_at - clock.now()).total_seconds()
    return max(1, int(min(token_settings.access_ttl.total_seconds(), remaining)))


def session_snapshot(sid: str) -> Snapshot | None:
    """The live session's snapshot, or None when it is revoked, expired or unknown."""
    # A revocation that could not reach Redis may have left a live-looking snapshot there.
    revocations_sync()
    if session_denied(sid):
        return None
    store = get_session_store()
    try:
        cached = store.get(sid)
    except SessionStoreUnavailable:
        logger.warning("session store unavailable; reading session %s from the database", sid)
        return _snapshot_from_database(sid, store=None)
    if cached is REVOKED:
        return None
    if cached is not None:
        return cached
    return _snapshot_from_database(sid, store=store)


def _snapshot_from_database(sid: str, *, store) -> Snapshot | None:
    session = Session.objects.select_related("user").filter(pk=sid).first()
    alive = session is not None and session.is_alive(clock.now()) and session.user.is_active
    if not alive:
        if store is not None and session is not None:
            # Remember the answer so a replayed token does not reach the database again.
            _store_quietly(store.revoke, [sid], str(session.user_id), tombstone_ttl_seconds())
        return None
    snapshot = snapshot_build(session)
    if store is not None:
        _store_quietly(store.put, snapshot, snapshot_ttl_seconds(session))
    return snapshot


def _store_quietly(method, *args) -> None:
    try:
        method(*args)
    except SessionStoreUnavailable:
        logger.warning("session store unavailable; %s skipped", method.__name__)


def live_sessions(user_id, *, using: str = DEFAULT_DB_ALIAS) -> list[Session]:
    """`using=replica()` only where the list is for display (authsvc/replica.py)."""
    now = clock.now()
    return list(
        Session.objects.using(using)
        .filter(user_id=user_id, revoked_at__isnull=True, expires_at__gt=now)
        .order_by("-last_used_at")
    )


def session_auth_time(sid: str):
    """When a live session last proved a factor, from the database; None if it is not alive."""
    session = Session.objects.filter(pk=sid, revoked_at__isnull=True).first()
    if session is None or not session.is_alive(clock.now()):
        return None
    return session.authenticated_at()
