"""Refresh tokens: drawn at login, derived at every rotation, traded in one transaction.

PostgreSQL (production) and SQLite (`make run`) run the very same rotation: three plain SQL
statements out of four (no data-modifying WITH, which SQLite lacks), the same Python between
them, in one transaction. Only the drivers' values differ (SQLite keeps timestamps as naive
UTC text and UUIDs as hex), which `_to_db`, `_db_datetime` and `_db_uuid` take care of.
"""

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils.crypto import salted_hmac
from django.utils.dateparse import parse_datetime

from audit import events
from authsvc import clock, metrics
from authsvc.http import ClientInfo
from authsvc.ratelimit import rate_limit
from sessions_store.models import Session
from sessions_store.services import session_revoke, session_snapshot_extend
from tokens.conf import token_settings
from tokens.exceptions import TokenInvalid, TokenReused
from tokens.models import RefreshToken
from tokens.pair import IssuedTokens, token_pair_issue

REFRESH_TOKEN_BYTES = 32  # 256 bits from the OS CSPRNG
REFRESH_TOKEN_MAX_LENGTH = 128


def refresh_token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def refresh_token_successor(raw: str) -> str:
    """The one token `raw` is ever traded for, derived rather than drawn.

    Every retry of the same token (racing tabs, a retried request whose answer was lost)
    computes the same successor, so a token has at most one child and a retry can be given
    the very token it missed. Nothing more is stored than before (only its SHA-256); without
    the server's key (`SECRET_KEY`) nobody can compute it from `raw`.
    """
    digest = salted_hmac(
        "authsvc.tokens.refresh_successor", "refresh-successor:" + raw, algorithm="sha256"
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def refresh_token_create(*, session: Session, now: datetime, expires_at: datetime) -> str:
    """The first token of a session's chain: drawn, stored only as its SHA-256."""
    raw = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
    RefreshToken.objects.create(
        session=session, token_hash=refresh_token_hash(raw), created_at=now, expires_at=expires_at
    )
    return raw


def refresh_token_session_id(raw: str) -> str | None:
    """The session a refresh token belongs to, used or not (logout by cookie)."""
    if len(raw) > REFRESH_TOKEN_MAX_LENGTH:
        return None
    sid = (
        RefreshToken.objects.filter(token_hash=refresh_token_hash(raw))
        .values_list("session_id", flat=True)
        .first()
    )
    return str(sid) if sid is not None else None


@dataclass(frozen=True, slots=True)
class _ReuseDetected:
    session_id: str
    user_id: str
    token_id: int


def refresh_token_rotate(*, raw: str | None, client: ClientInfo) -> IssuedTokens:
    """Trade a refresh token for a new pair; the presented token is used up.

    A token has one successor, derived from it (`refresh_token_successor`), so:
    - presented again within the grace window (tabs racing), it gets that same successor:
      a race never leaves more than one live branch;
    - presented again after the window while the successor was never used (the answer was
      lost, the browser retries), it gets that same successor again, which is marked as
      handed out twice;
    - presented again after the window when the successor has been used, or when the token
      itself was handed out twice, it is theft: the whole session dies, its access tokens
      with it.
    Why that still catches a thief: two holders of one token can both get its successor only
    through the second case, which marks it; a marked token may be used once, so whichever of
    the two presents it second (outside the grace window) ends the session. A thief cannot
    follow the victim along the chain for more than one step. The cost: if the answer to
    refreshing a token that was itself handed out again is lost too, the retry logs out.

    No refresh reaches beyond the session's hard end (`AUTHSVC_SESSION_MAX_AGE_SECONDS` after
    its creation): the successor's expiry is capped there, and after it the token is invalid.
    """
    if not raw or len(raw) > REFRESH_TOKEN_MAX_LENGTH:
        metrics.refresh_invalid()
        raise TokenInvalid()
    try:
        outcome = _rotate(raw, client)
    except TokenInvalid:
        # No event for these (a stale tab's cookie is routine), so counted here.
        metrics.refresh_invalid()
        raise
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


# The rotation, statement by statement. Each runs unchanged on PostgreSQL and SQLite >= 3.35
# (UPDATE ... FROM, RETURNING, ON CONFLICT DO NOTHING); `tokens.checks` refuses an older SQLite.
#
# 1. Mark the token used, but only while the token, its session and its user are alive and
#    the session is younger than its maximum age; COALESCE keeps the first use's time. Its
#    row lock orders concurrent rotations: a racer waits for the winner and then re-reads the
#    row (READ COMMITTED re-check on PostgreSQL; SQLite has one writer at a time), so it gets
#    the winner's `used_at`, falls inside the grace window and computes the same successor
#    expiry as the winner. No row: an unknown or expired token, or a dead or too old session
#    or user. (SQLite's RETURNING cannot name the FROM tables, hence the two subqueries.)
_MARK_USED_SQL = """
UPDATE tokens_refreshtoken SET used_at = COALESCE(tokens_refreshtoken.used_at, %(now)s)
FROM sessions_store_session AS s, accounts_user AS u
WHERE tokens_refreshtoken.token_hash = %(hash)s AND tokens_refreshtoken.expires_at > %(now)s
  AND s.id = tokens_refreshtoken.session_id AND s.revoked_at IS NULL
  AND s.expires_at > %(now)s AND s.created_at > %(created_after)s
  AND u.id = s.user_id AND u.is_active
RETURNING tokens_refreshtoken.id, tokens_refreshtoken.session_id,
    tokens_refreshtoken.used_at, tokens_refreshtoken.redelivered_at,
    (SELECT o.user_id FROM sessions_store_session AS o
     WHERE o.id = tokens_refreshtoken.session_id),
    (SELECT o.created_at FROM sessions_store_session AS o
     WHERE o.id = tokens_refreshtoken.session_id)
"""
# 2a. Within the grace window: insert the derived successor. Its hash is the same for every
#     racer, so ON CONFLICT leaves the winner's row the only child (on PostgreSQL a conflict
#     with a committed row is seen even outside this statement's snapshot).
_SUCCESSOR_INSERT_SQL = """
INSERT INTO tokens_refreshtoken
    (session_id, token_hash, parent_id, created_at, expires_at, used_at, redelivered_at)
VALUES (%(session_id)s, %(successor_hash)s, %(token_id)s, %(used_at)s, %(expires_at)s,
    NULL, NULL)
ON CONFLICT (token_hash) DO NOTHING
"""
# 2b. After the window: hand the same successor out again only while it is unused and
#     unexpired (and, checked before, the presented token was not itself handed out twice),
#     and mark it. Its row is locked after its parent's and before the session's: the
#     parent-then-child-then-session order of every rotation, so no two rotations deadlock.
_SUCCESSOR_REDELIVER_SQL = """
UPDATE tokens_refreshtoken SET redelivered_at = COALESCE(redelivered_at, %(now)s)
WHERE token_hash = %(successor_hash)s AND parent_id = %(token_id)s
  AND used_at IS NULL AND expires_at > %(now)s
"""
# 3. Extend the session, never beyond its cap (the successor's expiry is capped) and never
#    shortening it (CASE: neither database has the other's GREATEST / MAX(a, b)).
_SESSION_EXTEND_SQL = """
UPDATE sessions_store_session
SET last_used_at = %(now)s,
    expires_at = CASE WHEN expires_at > %(expires_at)s THEN expires_at ELSE %(expires_at)s END,
    ip = %(ip)s, user_agent = %(user_agent)s
WHERE id = %(session_id)s
"""


def _mark_used_params(*, raw: str, now: datetime) -> dict:
    return {
        "now": _to_db(now),
        "hash": refresh_token_hash(raw),
        "created_after": _to_db(now - token_settings.session_max_age),
    }


def _rotate(raw: str, client: ClientInfo) -> IssuedTokens | _ReuseDetected:
    now = clock.now()
    successor_raw = refresh_token_successor(raw)
    successor_hash = refresh_token_hash(successor_raw)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_MARK_USED_SQL, _mark_used_params(raw=raw, now=now))
        row = cursor.fetchone()
        if row is None:
            raise TokenInvalid()
        token_id, session_key, used_at, redelivered_at, user_key, created_at = row
        used_at = _db_datetime(used_at)
        session_id, user_id = _db_uuid(session_key), _db_uuid(user_key)
        # The same for every racer (they share `used_at`), and never past the session's end.
        expires_at = min(
            used_at + token_settings.refresh_ttl,
            _db_datetime(created_at) + token_settings.session_max_age,
        )
        successor = {"successor_hash": successor_hash, "token_id": token_id, "now": _to_db(now)}
        if used_at >= now - token_settings.reuse_grace:
            cursor.execute(
                _SUCCESSOR_INSERT_SQL,
                {
                    **successor,
                    "session_id": session_key,
                    "used_at": _to_db(used_at),
                    "expires_at": _to_db(expires_at),
                },
            )
        else:
            # A lost answer, retried: the same successor again, once, while nobody has used
            # it. Anything else is theft (see `refresh_token_rotate` for why this catches it).
            redelivered = False
            if redelivered_at is None:
                cursor.execute(_SUCCESSOR_REDELIVER_SQL, successor)
                redelivered = cursor.rowcount == 1
            if not redelivered:
                return _ReuseDetected(session_id=session_id, user_id=user_id, token_id=token_id)
        cursor.execute(
            _SESSION_EXTEND_SQL,
            {
                "now": _to_db(now),
                "expires_at": _to_db(expires_at),
                "ip": client.ip,
                "user_agent": client.user_agent,
                "session_id": session_key,
            },
        )
        _session_refresh_count(session_id)
    snapshot = session_snapshot_extend(sid=session_id, user_id=user_id, expires_at=expires_at)
    return token_pair_issue(snapshot, successor_raw, expires_at)


def _session_refresh_count(session_id: str) -> None:
    """Count a rotation against the session's limit. Called inside the rotation's
    transaction: a refused one rolls back, and the presented token stays usable."""
    rate_limit(None, group="refresh_session", key=session_id)


def _to_db(value: datetime):
    # SQLite compares timestamps as text: they must be written exactly as the ORM writes
    # them (naive UTC), or a comparison with a stored value is wrong.
    return connection.ops.adapt_datetimefield_value(value)


def _db_datetime(value) -> datetime:
    # SQLite: the ORM's naive UTC, as text or (for a declared column) already parsed.
    parsed = value if isinstance(value, datetime) else parse_datetime(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _db_uuid(value) -> str:
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(value))
