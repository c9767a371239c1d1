"""The pair a session hands out: an access JWT for its snapshot and a refresh token."""

from dataclasses import dataclass
from datetime import datetime

from sessions_store.backends.base import Snapshot
from tokens.access import access_token_issue


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    user_id: str
    session_id: str
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime


def token_pair_issue(
    snapshot: Snapshot, raw_refresh: str, refresh_expires_at: datetime
) -> IssuedTokens:
    access, access_expires_at = access_token_issue(
        user_id=snapshot.user_id,
        sid=snapshot.sid,
        roles=snapshot.roles,
        email_verified=snapshot.email_verified,
        amr=snapshot.amr,
        auth_time=snapshot.auth_time,
        permissions=snapshot.permissions,
        attributes=snapshot.attributes,
    )
    return IssuedTokens(
        user_id=snapshot.user_id,
        session_id=snapshot.sid,
        access_token=access,
        access_expires_at=access_expires_at,
        refresh_token=raw_refresh,
        refresh_expires_at=refresh_expires_at,
    )
