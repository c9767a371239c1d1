"""Issue, rotate and end the tokens of a session."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from accounts import events
from authsvc import clock
from authsvc.http import ClientInfo
from authsvc.ratelimit import rate_limit
from sessions_store.backends.base import Snapshot
from sessions_store.models import Session
from sessions_store.services import session_create, session_revoke, session_snapshot_extend
from tokens.access import access_token_issue, access_token_session_id
from tokens.conf import token_settings
from tokens.exceptions import TokenInvalid, TokenReused
from tokens.models import RefreshToken

REFRESH_TOKEN_BYTES = 32  # 256 bits from the OS CSPRNG
REFRESH_TOKEN_MAX_LENGTH = 128


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    user_id: str
    session_id: str
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime


def refresh_token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _refresh_token_create(
    *, session: Session, parent: RefreshToken | None, now
) -> tuple[str, RefreshToken]:
    raw = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
    token = RefreshToken.objects.create(
        session=session,
        token_hash=refresh_token_hash(raw),
        parent=parent,
        created_at=now,
        expires_at=now + token_settings.refresh_ttl,
    )
    return raw, token


def _issue(snapshot: Snapshot, raw_refresh: str, refresh_expires_at: datetime) -> IssuedTokens:
    access, access_expires_at = access_token_issue(
        user_id=snapshot.user_id,
        sid=snapshot.sid,
        roles=snapshot.roles,
        email_verified=snapshot.email_verified,
        amr=snapshot.amr,
        auth_time=snapshot.auth_time,
    )
    return IssuedTokens(
        user_id=snapshot.user_id,
        session_id=snapshot.sid,
        access_token=access,
        access_expires_at=access_expires_at,
        refresh_token=raw_refresh,
        refresh_expires_at=refresh_expires_at,
    )


def session_start(*, user, client: ClientInfo, amr: list[str]) -> IssuedTokens:
    """Everything a successful login ends with: `last_login`, a session, a refresh chain, an
    access token."""
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if own_transaction and connection.vendor == "postgresql":
            # A login need not wait for the WAL flush (a few ms, on every login): a crash can
            # only lose this new session and its refresh token, which logs the user out; it
            # can never keep a revoked session or a used token alive. Only when the
            # transaction is ours: a registration's would lose the account too.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        now = clock.now()
        # In this transaction, so a login pays for one commit, not two.
        type(user).objects.filter(pk=user.pk).update(last_login=now)
        session, snapshot = session_create(
            user=user, client=client, amr=amr, expires_at=now + token_settings.refresh_ttl
        )
        raw, refresh = _refresh_token_create(session=session, parent=None, now=now)
    return _issue(snapshot, raw, refresh.expires_at)


@dataclass(frozen=True, slots=True)
class _ReuseDetected:
    session_id: str
    user_id: str
    token_id: int


def refresh_token_rotate(*, raw: str | None, client: ClientInfo) -> IssuedTokens:
    """Trade a refresh token for a new pair; the presented token is used up.

    A token presented again within the grace window (two tabs refreshing at once) gets a
    sibling successor in the same session. After the window it is theft: the whole session
    dies, its access tokens with it.
    """
    if not raw or len(raw) > REFRESH_TOKEN_MAX_LENGTH:
        raise TokenInvalid()
    outcome = _rotate(refresh_token_hash(raw), client)
    if isinstance(outcome, _ReuseDetected):
        session_revoke(session_id=outcome.session_id, reason="refresh_token_reused")
        events.record(
            "refresh_reuse_detected",
            user_id=outcome.user_id,
            sid=outcome.session_id,
            client=client,
            token_id=outcome.token_id,
        )
        raise TokenReused()
    events.record("token_refreshed", user_id=outcome.user_id, sid=outcome.session_id, client=client)
    return outcome


# The whole rotation is one statement, so one transaction and one round trip to PostgreSQL:
# - `used` marks the token used, but only while the token, its session and its user are
#   alive; COALESCE keeps the first use's time. Its row lock orders concurrent rotations:
#   a racer waits for the winner and then re-reads the row (READ COMMITTED re-check), so it
#   returns the winner's `used_at` and falls inside the grace window.
# - `successor` and `touched` only happen when that `used_at` is within the grace window:
#   later than that the token is stolen and the caller revokes the session instead.
# No row comes back for an unknown or expired token or a dead session or user.
_ROTATE_SQL = """
WITH used AS (
    UPDATE tokens_refreshtoken AS t SET used_at = COALESCE(t.used_at, %(now)s)
    FROM sessions_store_session AS s, accounts_user AS u
    WHERE t.token_hash = %(hash)s AND t.expires_at > %(now)s
      AND s.id = t.session_id AND s.revoked_at IS NULL AND s.expires_at > %(now)s
      AND u.id = s.user_id AND u.is_active
    RETURNING t.id, t.session_id, t.used_at, s.user_id
), successor AS (
    INSERT INTO tokens_refreshtoken
        (session_id, token_hash, parent_id, created_at, expires_at, used_at)
    SELECT session_id, %(new_hash)s, id, %(now)s, %(expires_at)s, NULL
    FROM used WHERE used_at >= %(grace_start)s
    RETURNING id
), touched AS (
    UPDATE sessions_store_session AS s
    SET last_used_at = %(now)s, expires_at = %(expires_at)s, ip = %(ip)s,
        user_agent = %(user_agent)s
    FROM used WHERE s.id = used.session_id AND used.used_at >= %(grace_start)s
    RETURNING s.id
)
SELECT used.id, used.session_id, used.user_id,
       (SELECT count(*) FROM successor) + (SELECT count(*) FROM touched)
FROM used
"""


def _rotate(token_hash: str, client: ClientInfo) -> IssuedTokens | _ReuseDetected:
    if connection.vendor != "postgresql":
        return _rotate_portable(token_hash, client)
    now = clock.now()
    raw = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
    expires_at = now + token_settings.refresh_ttl
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _ROTATE_SQL,
            {
                "now": now,
                "hash": token_hash,
                "new_hash": refresh_token_hash(raw),
                "expires_at": expires_at,
                "grace_start": now - token_settings.reuse_grace,
                "ip": client.ip,
                "user_agent": client.user_agent,
            },
        )
        row = cursor.fetchone()
        if row is None:
            raise TokenInvalid()
        token_id, session_id, user_id, written = row
        session_id, user_id = str(session_id), str(user_id)
        if not written:
            return _ReuseDetected(session_id=session_id, user_id=user_id, token_id=token_id)
        _session_refresh_count(session_id)
    snapshot = session_snapshot_extend(sid=session_id, user_id=user_id, expires_at=expires_at)
    return _issue(snapshot, raw, expires_at)


def _session_refresh_count(session_id: str) -> None:
    """Count a rotation against the session's limit. Called inside the rotation's
    transaction: a refused one rolls back, and the presented token stays usable."""
    rate_limit(None, group="refresh_session", key=session_id)


@transaction.atomic
def _rotate_portable(token_hash: str, client: ClientInfo) -> IssuedTokens | _ReuseDetected:
    """The same rotation in ORM steps, for SQLite (`make run`), which has no data-modifying
    WITH. Four statements instead of one; the embedded default serves one developer."""
    now = clock.now()
    token = (
        RefreshToken.objects.select_related("session__user").filter(token_hash=token_hash).first()
    )
    if token is None or token.expires_at <= now:
        raise TokenInvalid()
    session = token.session
    if not session.is_alive(now) or not session.user.is_active:
        raise TokenInvalid()
    if token.used_at is None:
        won = RefreshToken.objects.filter(pk=token.pk, used_at__isnull=True).update(used_at=now)
        if not won:
            token.refresh_from_db(fields=["used_at"])
    if token.used_at is not None and now - token.used_at > token_settings.reuse_grace:
        return _ReuseDetected(
            session_id=str(session.pk), user_id=str(session.user_id), token_id=token.pk
        )
    _session_refresh_count(str(session.pk))
    raw, successor = _refresh_token_create(session=session, parent=token, now=now)
    Session.objects.filter(pk=session.pk).update(
        last_used_at=now,
        expires_at=successor.expires_at,
        ip=client.ip,
        user_agent=client.user_agent,
    )
    snapshot = session_snapshot_extend(
        sid=str(session.pk), user_id=str(session.user_id), expires_at=successor.expires_at
    )
    return _issue(snapshot, raw, successor.expires_at)


def session_logout(
    *, access_token: str | None, refresh_token: str | None, client: ClientInfo
) -> None:
    """End the session the presented tokens belong to. Idempotent."""
    sid = access_token_session_id(access_token) if access_token else None
    if sid is None and refresh_token and len(refresh_token) <= REFRESH_TOKEN_MAX_LENGTH:
        sid = (
            RefreshToken.objects.filter(token_hash=refresh_token_hash(refresh_token))
            .values_list("session_id", flat=True)
            .first()
        )
    if sid is None:
        return
    revoked = session_revoke(session_id=sid, reason="logout")
    if revoked is not None:
        events.record("logout", user_id=str(revoked.user_id), sid=str(revoked.pk), client=client)
