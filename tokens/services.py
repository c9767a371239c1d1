"""Issue, rotate and end the tokens of a session."""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils.crypto import salted_hmac

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
        # The session's hard end (`AUTHSVC_SESSION_MAX_AGE_SECONDS`) caps even the first token.
        expires_at = now + min(token_settings.refresh_ttl, token_settings.session_max_age)
        session, snapshot = session_create(user=user, client=client, amr=amr, expires_at=expires_at)
        raw = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
        RefreshToken.objects.create(
            session=session,
            token_hash=refresh_token_hash(raw),
            created_at=now,
            expires_at=expires_at,
        )
    return _issue(snapshot, raw, expires_at)


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
        raise TokenInvalid()
    outcome = _rotate(raw, client)
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
#   alive and the session is younger than its maximum age; COALESCE keeps the first use's
#   time. Its row lock orders concurrent rotations: a racer waits for the winner and then
#   re-reads the row (READ COMMITTED re-check), so it returns the winner's `used_at`, falls
#   inside the grace window and computes the same successor expiry as the winner.
# - `successor` inserts the derived successor when that `used_at` is within the grace window.
#   Its hash is the same for every racer, so ON CONFLICT leaves the winner's row the only
#   child (a conflict with a committed row is seen even outside this statement's snapshot).
# - `redelivered`, after the grace window, hands the same successor out again only while it
#   is unused and unexpired and the presented token was not itself handed out twice, and
#   marks it. Its row is locked (and re-checked) before the session's: the parent-then-child-
#   then-session order of every rotation, so no two rotations deadlock.
# - `touched` extends the session (never beyond its cap: the successor's expiry is capped)
#   when either of the two answers with the successor.
# No row comes back for an unknown or expired token or a dead or too old session or user; a
# row whose `answered` is false is a reuse the caller treats as theft.
_ROTATE_SQL = """
WITH used AS (
    UPDATE tokens_refreshtoken AS t SET used_at = COALESCE(t.used_at, %(now)s)
    FROM sessions_store_session AS s, accounts_user AS u
    WHERE t.token_hash = %(hash)s AND t.expires_at > %(now)s
      AND s.id = t.session_id AND s.revoked_at IS NULL AND s.expires_at > %(now)s
      AND s.created_at > %(created_after)s
      AND u.id = s.user_id AND u.is_active
    RETURNING t.id, t.session_id, t.redelivered_at, s.user_id, t.used_at,
        t.used_at >= %(grace_start)s AS in_grace,
        LEAST(t.used_at + %(refresh_ttl)s, s.created_at + %(max_age)s) AS successor_expires_at
), successor AS (
    INSERT INTO tokens_refreshtoken
        (session_id, token_hash, parent_id, created_at, expires_at, used_at, redelivered_at)
    SELECT session_id, %(successor_hash)s, id, used_at, successor_expires_at, NULL, NULL
    FROM used WHERE in_grace
    ON CONFLICT (token_hash) DO NOTHING
    RETURNING id
), redelivered AS (
    UPDATE tokens_refreshtoken AS c SET redelivered_at = COALESCE(c.redelivered_at, %(now)s)
    FROM used
    WHERE c.token_hash = %(successor_hash)s AND c.parent_id = used.id
      AND NOT used.in_grace AND used.redelivered_at IS NULL
      AND c.used_at IS NULL AND c.expires_at > %(now)s
    RETURNING c.id
), touched AS (
    UPDATE sessions_store_session AS s
    SET last_used_at = %(now)s, expires_at = GREATEST(s.expires_at, used.successor_expires_at),
        ip = %(ip)s, user_agent = %(user_agent)s
    FROM used
    WHERE s.id = used.session_id AND (used.in_grace OR EXISTS (SELECT FROM redelivered))
    RETURNING s.id
)
SELECT used.id, used.session_id, used.user_id, used.successor_expires_at,
       EXISTS (SELECT FROM touched) AS answered
FROM used
"""


def _rotate_params(*, raw: str, now, client: ClientInfo) -> dict:
    return {
        "now": now,
        "hash": refresh_token_hash(raw),
        "successor_hash": refresh_token_hash(refresh_token_successor(raw)),
        "created_after": now - token_settings.session_max_age,
        "grace_start": now - token_settings.reuse_grace,
        "refresh_ttl": token_settings.refresh_ttl,
        "max_age": token_settings.session_max_age,
        "ip": client.ip,
        "user_agent": client.user_agent,
    }


def _rotate(raw: str, client: ClientInfo) -> IssuedTokens | _ReuseDetected:
    if connection.vendor != "postgresql":
        return _rotate_portable(raw, client)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_ROTATE_SQL, _rotate_params(raw=raw, now=clock.now(), client=client))
        row = cursor.fetchone()
        if row is None:
            raise TokenInvalid()
        token_id, session_id, user_id, expires_at, answered = row
        session_id, user_id = str(session_id), str(user_id)
        if not answered:
            return _ReuseDetected(session_id=session_id, user_id=user_id, token_id=token_id)
        _session_refresh_count(session_id)
    snapshot = session_snapshot_extend(sid=session_id, user_id=user_id, expires_at=expires_at)
    return _issue(snapshot, refresh_token_successor(raw), expires_at)


def _session_refresh_count(session_id: str) -> None:
    """Count a rotation against the session's limit. Called inside the rotation's
    transaction: a refused one rolls back, and the presented token stays usable."""
    rate_limit(None, group="refresh_session", key=session_id)


@transaction.atomic
def _rotate_portable(raw: str, client: ClientInfo) -> IssuedTokens | _ReuseDetected:
    """The same rotation in ORM steps, for SQLite (`make run`), which has no data-modifying
    WITH: the same checks, the same derived successor, the same cap and the same answers to
    races, retries and reuse as `_ROTATE_SQL`, in four or five statements instead of one."""
    now = clock.now()
    token = (
        RefreshToken.objects.select_related("session__user")
        .filter(token_hash=refresh_token_hash(raw))
        .first()
    )
    if token is None or token.expires_at <= now:
        raise TokenInvalid()
    session = token.session
    if (
        not session.is_alive(now)
        or session.created_at <= now - token_settings.session_max_age
        or not session.user.is_active
    ):
        raise TokenInvalid()
    if token.used_at is None:
        won = RefreshToken.objects.filter(pk=token.pk, used_at__isnull=True).update(used_at=now)
        if won:
            token.used_at = now
        else:
            token.refresh_from_db(fields=["used_at"])
    successor_raw = refresh_token_successor(raw)
    successor_hash = refresh_token_hash(successor_raw)
    expires_at = min(
        token.used_at + token_settings.refresh_ttl,
        session.created_at + token_settings.session_max_age,
    )
    if token.used_at >= now - token_settings.reuse_grace:
        # One child per token: a racer's insert of the same hash is ignored.
        RefreshToken.objects.bulk_create(
            [
                RefreshToken(
                    session=session,
                    token_hash=successor_hash,
                    parent=token,
                    created_at=token.used_at,
                    expires_at=expires_at,
                )
            ],
            ignore_conflicts=True,
        )
    else:
        # A lost answer, retried: the same successor again, once, while nobody has used it
        # (see `refresh_token_rotate` for why this still catches a thief).
        redelivered = token.redelivered_at is None and RefreshToken.objects.filter(
            token_hash=successor_hash, parent=token, used_at__isnull=True, expires_at__gt=now
        ).update(redelivered_at=Coalesce(F("redelivered_at"), Value(now)))
        if not redelivered:
            return _ReuseDetected(
                session_id=str(session.pk), user_id=str(session.user_id), token_id=token.pk
            )
    _session_refresh_count(str(session.pk))
    Session.objects.filter(pk=session.pk).update(
        last_used_at=now,
        expires_at=Greatest(F("expires_at"), Value(expires_at)),
        ip=client.ip,
        user_agent=client.user_agent,
    )
    snapshot = session_snapshot_extend(
        sid=str(session.pk), user_id=str(session.user_id), expires_at=expires_at
    )
    return _issue(snapshot, successor_raw, expires_at)


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
