"""The admin site's door: its two-step login, its sessions and its audit trail.

An admin login is a `sessions_store.Session` row (`kind="admin"`, no tokens) like any login,
so everything that ends a user's sessions (logout everywhere, `revoke_sessions`, a ban, a
password change or reset, a 2FA change) ends it too. Django's own session (a signed cookie)
only carries its id; `admin_session_alive` checks it on every admin request through the
same snapshot path as an access token (the store, then the database).

The second factor is the API's: the same challenge, the same code check on the locked
device rows and the same per-account throttle (`accounts.mfa.services`).
"""

from datetime import timedelta

from django.conf import settings

from accounts.emails import normalize_email
from accounts.exceptions import AccountDisabled
from accounts.mfa import challenge as challenges
from accounts.mfa.services import (
    OTP_AMR,
    mfa_challenge_complete,
    mfa_enabled,
    mfa_login_start,
)
from accounts.models import User
from audit import events
from authsvc import clock
from authsvc.errors import ServiceError
from authsvc.http import ClientInfo
from sessions_store.backends.base import Snapshot
from sessions_store.models import Session
from sessions_store.selectors import session_snapshot
from sessions_store.services import session_create, session_revoke

# RFC 8176's value for a password, the first factor of every admin login.
FIRST_FACTOR = "pwd"


def admin_login_password_passed(
    *, user: User, client: ClientInfo
) -> challenges.Challenge | Session:
    """After Django's admin form accepted the password of an active staff user: the 2FA
    challenge when the account has a second factor, else the admin session."""
    if mfa_enabled(user):
        events.record("admin_login_mfa_required", user_id=str(user.pk), client=client)
        return mfa_login_start(user=user, amr=[FIRST_FACTOR])
    session = _admin_session_start(user=user, client=client, amr=[FIRST_FACTOR])
    _succeeded(session, client=client)
    return session


def admin_login_password_failed(*, username: str, client: ClientInfo) -> None:
    known = (
        User.objects.filter(email=normalize_email(username)).values_list("pk", flat=True).first()
    )
    events.record(
        "admin_login_failed",
        user_id=str(known) if known else None,
        client=client,
        factor=FIRST_FACTOR,
    )


def admin_login_complete(*, token: str | None, code: str, client: ClientInfo) -> Session:
    """The second step: a TOTP or backup code for the challenge the password earned.
    InvalidCode, RateLimited, MfaChallengeExpired or AccountDisabled otherwise."""
    user_id = None
    try:
        user_id = challenges.challenge_load(token).user_id
        session, _, method = mfa_challenge_complete(
            token=token,
            code=code,
            client=client,
            purpose="admin_login",
            start=lambda user, amr: _admin_session_start(user=user, client=client, amr=amr),
        )
    except ServiceError as exc:
        events.record(
            "admin_login_failed", user_id=user_id, client=client, factor=OTP_AMR, error=exc.code
        )
        raise
    _succeeded(session, client=client, mfa_method=method)
    return session


def _admin_session_start(*, user: User, client: ClientInfo, amr: list[str]) -> Session:
    # The form checked is_staff at the password; the second step may come minutes later.
    if not user.is_staff:
        raise AccountDisabled()
    expires_at = clock.now() + timedelta(seconds=settings.AUTHSVC_ADMIN_SESSION_TTL_SECONDS)
    session, _ = session_create(
        user=user, client=client, amr=amr, expires_at=expires_at, kind=Session.ADMIN
    )
    return session


def _succeeded(session: Session, *, client: ClientInfo, **details) -> None:
    events.record(
        "admin_login_succeeded",
        user_id=str(session.user_id),
        sid=str(session.pk),
        client=client,
        amr=list(session.amr),
        **details,
    )


def admin_session_alive(*, sid: str | None, user_id, expires_at: int | None) -> Snapshot | None:
    """The snapshot of a live admin session of `user_id`; None when it has ended.

    `expires_at` (Unix seconds, kept in the signed Django session at login) bounds it on
    authsvc.clock: a cached snapshot lives up to one access lifetime and does not know it."""
    if not sid or expires_at is None or clock.now().timestamp() >= expires_at:
        return None
    snapshot = session_snapshot(sid)
    if snapshot is None or snapshot.user_id != str(user_id):
        return None
    return snapshot


def admin_needs_second_factor(snapshot: Snapshot) -> bool:
    """Whether AUTHSVC_ADMIN_REQUIRE_2FA keeps this session out of the admin: it was not
    opened with a second factor (the account has none; enrolling one ends it)."""
    return settings.AUTHSVC_ADMIN_REQUIRE_2FA and OTP_AMR not in snapshot.amr


def admin_logout(*, user_id, sid: str | None, client: ClientInfo) -> None:
    if sid:
        session_revoke(session_id=sid, reason="admin_logout")
    events.record("admin_logout", user_id=str(user_id), sid=sid, client=client)
