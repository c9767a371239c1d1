"""Issue, rotate and end the tokens of a session."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from accounts import events
from authsvc import clock
from authsvc.http import ClientInfo
from sessions_store.backends.base import Snapshot
from sessions_store.models import Session
from sessions_store.selectors import cached_snapshot
from sessions_store.services import session_cache, session_create, session_revoke
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


def _issue(snapshot: Snapshot, raw_refresh: str, refresh: RefreshToken) -> IssuedTokens:
    access, access_expires_at = access_token_issue(
        user_id=snapshot.user_id,
        sid=snapshot.sid,
        roles=snapshot.roles,
        email_verified=snapshot.email_verified,
        amr=snapshot.amr,
    )
    return IssuedTokens(
        user_id=snapshot.user_id,
        session_id=snapshot.sid,
        access_token=access,
        access_expires_at=access_expires_at,
        refresh_token=raw_refresh,
        refresh_expires_at=refresh.expires_at,
    )


@transaction.atomic
def session_start(*, user, client: ClientInfo, amr: list[str]) -> IssuedTokens:
    """Everything a successful login ends with: a session, a refresh chain, an access token."""
    now = clock.now()
    session, snapshot = session_create(
        user=user, client=client, amr=amr, expires_at=now + token_settings.refresh_ttl
    )
    raw, refresh = _refresh_token_create(session=session, parent=None, now=now)
    return _issue(snapshot, raw, refresh)


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


@transaction.atomic
def _rotate(token_hash: str, client: ClientInfo) -> IssuedTokens | _ReuseDetected:
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
        # The conditional UPDATE takes the row lock: of concurrent rotations exactly one
        # matches; the others wait for it and then see the token used.
        won = RefreshToken.objects.filter(pk=token.pk, used_at__isnull=True).update(used_at=now)
        if not won:
            token.refresh_from_db(fields=["used_at"])
    if token.used_at is not None and now - token.used_at > token_settings.reuse_grace:
        return _ReuseDetected(
            session_id=str(session.pk), user_id=str(session.user_id), token_id=token.pk
        )
    raw, successor = _refresh_token_create(session=session, parent=token, now=now)
    Session.objects.filter(pk=session.pk).update(
        last_used_at=now,
        expires_at=successor.expires_at,
        ip=client.ip,
        user_agent=client.user_agent,
    )
    session.expires_at = successor.expires_at
    snapshot = cached_snapshot(session)
    session_cache(session=session, snapshot=snapshot)
    return _issue(snapshot, raw, successor)


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
