"""Writes: create, revoke and refresh sessions, in the database and then the store.

The store is written at once rather than on commit: a tombstone that lands before the
revocation commits can only end a session early, never keep a dead one alive.
"""

import logging
import uuid
from datetime import datetime

from django.db import transaction

from audit import events
from audit.outbox import outbox_append_many
from authsvc import clock
from authsvc.http import ClientInfo
from sessions_store.backends import get_session_store
from sessions_store.backends.base import SessionStoreUnavailable, Snapshot
from sessions_store.claims import Claims, claims_clean
from sessions_store.exceptions import SessionNotFound
from sessions_store.models import Session
from sessions_store.revocations import pending_tombstones_record, session_denied
from sessions_store.selectors import (
    live_sessions,
    snapshot_build,
    snapshot_ttl_seconds,
    snapshot_ttl_until,
    tombstone_ttl_seconds,
)

logger = logging.getLogger(__name__)


def _store_put(session: Session, snapshot: Snapshot) -> None:
    if session_denied(snapshot.sid):
        # Revoked while the store was unreachable: no tombstone guards this key yet.
        return
    try:
        get_session_store().put(snapshot, snapshot_ttl_seconds(session))
    except SessionStoreUnavailable:
        # The database fallback serves the session until the store is back.
        logger.warning("session store unavailable; snapshot of %s not cached", session.pk)


def _store_revoke(sids: list[str], user_id: str) -> None:
    try:
        get_session_store().revoke(sids, user_id, tombstone_ttl_seconds())
    except SessionStoreUnavailable:
        # The revocation is durable, but a snapshot cached before it may still be in
        # Redis: every process must learn of it before trusting Redis again.
        logger.error("session store unavailable; revocation of %s pending", sids)
        pending_tombstones_record(sids, user_id)


def _published(event_type: str, user_id, sids, at: datetime, **data) -> None:
    outbox_append_many(event_type, [(user_id, sid, data) for sid in sids], at=at)


def session_create(
    *, user, client: ClientInfo, amr: list[str], expires_at: datetime, kind: str = Session.API
) -> tuple[Session, Snapshot]:
    now = clock.now()
    # The session and its `session.created` commit together (no savepoint: one more round
    # trip on every login for nothing, the caller's transaction rolls back as a whole).
    with transaction.atomic(savepoint=False):
        session = Session.objects.create(
            user=user,
            created_at=now,
            last_used_at=now,
            expires_at=expires_at,
            ip=client.ip,
            user_agent=client.user_agent,
            amr=amr,
            auth_time=now,
            kind=kind,
        )
        _published("session.created", user.pk, [session.pk], now, amr=list(amr), kind=kind)
    snapshot = snapshot_build(session)
    _store_put(session, snapshot)
    return session, snapshot


def session_snapshot_extend(*, sid: str, user_id: str, expires_at: datetime) -> Snapshot:
    """The snapshot of a session a refresh has just extended, cached for a fresh TTL.

    The hot case is one store round trip that renews the cached snapshot and returns it; a
    miss (or a tombstone racing with the refresh) builds it from the database and puts it,
    never over a tombstone.
    """
    try:
        cached = get_session_store().touch(sid, user_id, snapshot_ttl_until(expires_at))
    except SessionStoreUnavailable:
        cached = None
    if isinstance(cached, Snapshot):
        return cached
    session = Session.objects.select_related("user").get(pk=sid)
    snapshot = snapshot_build(session)
    _store_put(session, snapshot)
    return snapshot


def session_revoke(*, session_id, reason: str) -> Session | None:
    """Revoke one session; returns it if it was alive until now."""
    now = clock.now()
    with transaction.atomic(savepoint=False):
        updated = Session.objects.filter(pk=session_id, revoked_at__isnull=True).update(
            revoked_at=now, revoked_reason=reason
        )
        session = Session.objects.filter(pk=session_id).first()
        if session is None:
            return None
        if updated:
            _published("session.revoked", session.user_id, [session.pk], now, reason=reason)
    _store_revoke([str(session.pk)], str(session.user_id))
    return session if updated else None


def user_session_revoke(*, user_id, session_id, client: ClientInfo) -> None:
    """A user ends one of their own live sessions; another user's id is simply not found."""
    now = clock.now()
    reason = "revoked_by_user"
    with transaction.atomic(savepoint=False):
        # One guarded UPDATE both checks ownership and revokes.
        updated = Session.objects.filter(
            pk=session_id, user_id=user_id, revoked_at__isnull=True, expires_at__gt=now
        ).update(revoked_at=now, revoked_reason=reason)
        if updated:
            _published("session.revoked", user_id, [session_id], now, reason=reason)
    # Raised outside the block: without a savepoint, it would doom a caller's transaction.
    if not updated:
        raise SessionNotFound()
    _store_revoke([str(session_id)], str(user_id))
    events.record("session_revoked", user_id=str(user_id), sid=str(session_id), client=client)


def user_logout_everywhere(*, user_id, client: ClientInfo) -> int:
    count = user_sessions_revoke(user_id=user_id, reason="logout_all")
    events.record("logout_all", user_id=str(user_id), client=client, revoked=count)
    return count


def user_sessions_revoke(*, user_id, reason: str, keep_session_id=None) -> int:
    """Revoke every live session of a user (but `keep_session_id`); returns how many."""
    now = clock.now()
    live = Session.objects.filter(user_id=user_id, revoked_at__isnull=True)
    if keep_session_id is not None:
        live = live.exclude(pk=keep_session_id)
    with transaction.atomic(savepoint=False):
        # Locked, so the sessions named in `session.revoked` are exactly those this UPDATE
        # revoked: one revoked meanwhile by another path drops out of the locked read
        # (PostgreSQL re-checks `revoked_at IS NULL` after the wait) and is reported there.
        revoked = sorted(str(pk) for pk in live.select_for_update().values_list("pk", flat=True))
        count = Session.objects.filter(pk__in=revoked).update(revoked_at=now, revoked_reason=reason)
        _published("session.revoked", user_id, revoked, now, reason=reason)
    sids = set(revoked)

    try:
        indexed = get_session_store().user_sessions(str(user_id))
    except SessionStoreUnavailable:
        indexed = set()
    _store_revoke(sorted((sids | indexed) - {str(keep_session_id)}), str(user_id))
    return count


def user_snapshots_refresh(*, user) -> None:
    """Rewrite the cached snapshots of a user's live sessions after their data changed."""
    for session in live_sessions(user.pk):
        session.user = user
        _store_put(session, snapshot_build(session))


def user_sessions_revoke_by_operator(*, user_id, by=None, client: ClientInfo | None = None) -> int:
    """An operator ends every session of a user (admin action, `revoke_sessions`)."""
    count = user_sessions_revoke(user_id=user_id, reason="revoked_by_operator")
    events.record(
        "sessions_revoked_by_operator",
        user_id=str(user_id),
        client=client,
        by=str(by.pk) if by else None,
        revoked=count,
    )
    return count


def session_revoke_by_operator(*, session_id, by=None, client: ClientInfo | None = None) -> bool:
    """An operator ends one session; False if it had already ended."""
    revoked = session_revoke(session_id=session_id, reason="revoked_by_operator")
    if revoked is None:
        return False
    events.record(
        "session_revoked_by_operator",
        user_id=str(revoked.user_id),
        sid=str(revoked.pk),
        client=client,
        by=str(by.pk) if by else None,
    )
    return True


def session_reauthenticated(*, session_id, user_id) -> datetime | None:
    """The session proved a factor again: renew its `auth_time` in the database, then in
    the cached snapshot. Returns the new time, or None if the session is no longer alive."""
    now = clock.now()
    updated = Session.objects.filter(
        pk=session_id, user_id=user_id, revoked_at__isnull=True, expires_at__gt=now
    ).update(auth_time=now)
    if not updated:
        return None
    session = Session.objects.select_related("user").get(pk=session_id)
    # The store's put never overwrites a tombstone, so a revocation racing this one wins.
    _store_put(session, snapshot_build(session))
    return now


def session_claims_set(
    *,
    sid,
    permissions: list[str] | None,
    attributes: dict | None,
    client_id: str,
    client: ClientInfo | None = None,
) -> Claims:
    """An authorization service replaces a live session's claims (PUT: what is not given is
    empty). The cached snapshot is rewritten at once, so introspection and every request see
    them now; access tokens carry them from the session's next refresh.

    SessionNotFound for an unknown, revoked or expired session (or a user who may not log in).
    """
    try:
        sid = uuid.UUID(str(sid))
    except ValueError:
        raise SessionNotFound() from None
    claims = claims_clean(permissions=permissions, attributes=attributes)
    with transaction.atomic():
        session = (
            Session.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk=sid)
            .first()
        )
        if session is None or not session.is_alive(clock.now()) or not session.user.is_active:
            raise SessionNotFound()
        session.permissions = claims.permissions
        session.attributes = claims.attributes
        session.save(update_fields=["permissions", "attributes"])
        # Under the row lock: a revocation's UPDATE waits for this transaction, so its
        # tombstone lands after this put and wins; one that committed first was seen above.
        # And the store's put never overwrites a tombstone already there.
        _store_put(session, snapshot_build(session))
    # Counts only: attributes may hold anything, and the permissions are the service's.
    events.record(
        "session_claims_set",
        user_id=str(session.user_id),
        sid=str(session.pk),
        client=client,
        client_id=client_id,
        permissions=len(claims.permissions),
        attributes=len(claims.attributes),
    )
    return claims
