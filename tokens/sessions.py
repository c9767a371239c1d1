"""Where a session's tokens begin and end: the login's first pair, and logout."""

from django.db import connection, transaction

from audit import events
from authsvc import clock
from authsvc.http import ClientInfo
from sessions_store.services import session_create, session_revoke
from tokens.access import access_token_session_id
from tokens.conf import token_settings
from tokens.pair import IssuedTokens, token_pair_issue
from tokens.refresh import refresh_token_create, refresh_token_session_id


def session_start(
    *, user, client: ClientInfo, amr: list[str], event: str | None = None
) -> IssuedTokens:
    """Everything a successful login ends with: `last_login`, a session, a refresh chain, an
    access token; and `event` (e.g. "login_succeeded"), recorded in the same transaction so
    the session and its audit row commit together, in one commit."""
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
        raw = refresh_token_create(session=session, now=now, expires_at=expires_at)
        if event:
            events.record(
                event, user_id=str(user.pk), sid=str(session.pk), client=client, with_caller=True
            )
    return token_pair_issue(snapshot, raw, expires_at)


def session_logout(
    *, access_token: str | None, refresh_token: str | None, client: ClientInfo
) -> None:
    """End the session the presented tokens belong to. Idempotent."""
    sid = access_token_session_id(access_token) if access_token else None
    if sid is None and refresh_token:
        sid = refresh_token_session_id(refresh_token)
    if sid is None:
        return
    revoked = session_revoke(session_id=sid, reason="logout")
    if revoked is not None:
        events.record("logout", user_id=str(revoked.user_id), sid=str(revoked.pk), client=client)
