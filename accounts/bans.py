"""Bans: the one way to lock a user out, used by the admin, the API and the commands.

A ban turns `is_active` off (so the API login, the refresh, the session fallback and the
admin login all refuse the account), records who, why and until when, and revokes every
session in the database and the store, so the user's access tokens fail on their next
request. A temporary ban lifts itself: at the next login attempt after `banned_until`, or
when `purge_expired` runs.
"""

from datetime import datetime

from django.db import transaction

from accounts.exceptions import CannotBanSelf, InvalidRequest
from accounts.models import User
from audit import events
from authsvc import clock
from authsvc.http import ClientInfo
from sessions_store.services import user_sessions_revoke

BAN_FIELDS = ["is_active", "banned_at", "banned_until", "ban_reason", "banned_by"]
BAN_REASON_MAX_LENGTH = User._meta.get_field("ban_reason").max_length


@transaction.atomic
def user_ban(
    *,
    user: User,
    reason: str,
    until: datetime | None = None,
    by: User | None = None,
    client: ClientInfo | None = None,
) -> User:
    """Ban `user` (again, if already banned: the new reason and end replace the old)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequest(fields={"reason": ["Give a reason for the ban."]})
    if len(reason) > BAN_REASON_MAX_LENGTH:
        raise InvalidRequest(fields={"reason": [f"At most {BAN_REASON_MAX_LENGTH} characters."]})
    now = clock.now()
    if until is not None and until <= now:
        raise InvalidRequest(fields={"until": ["The end of a ban must be in the future."]})
    if by is not None and by.pk == user.pk:
        raise CannotBanSelf()
    banned = User.objects.select_for_update().get(pk=user.pk)
    banned.is_active = False
    banned.banned_at = now
    banned.banned_until = until
    banned.ban_reason = reason
    banned.banned_by = by
    banned.save(update_fields=BAN_FIELDS)
    revoked = user_sessions_revoke(user_id=banned.pk, reason="banned")
    # A login that checked the password just before this commits can still start a session
    # (its insert waits for our row lock, then succeeds): revoke once more after the commit.
    transaction.on_commit(
        lambda: user_sessions_revoke(user_id=banned.pk, reason="banned"), robust=True
    )
    events.record(
        "user_banned",
        user_id=str(banned.pk),
        client=client,
        by=str(by.pk) if by else None,
        until=until.isoformat() if until else None,
        reason=reason,
        revoked=revoked,
    )
    return banned


@transaction.atomic
def user_unban(*, user: User, by: User | None = None, client: ClientInfo | None = None) -> bool:
    """Lift a ban; False (and nothing changes) if the user was not banned."""
    unbanned = User.objects.select_for_update().get(pk=user.pk)
    if not unbanned.is_banned:
        return False
    _clear(unbanned)
    events.record(
        "user_unbanned", user_id=str(unbanned.pk), client=client, by=str(by.pk) if by else None
    )
    return True


def ban_lift_if_expired(*, user: User) -> bool:
    """Lift the ban of `user` if it was temporary and has ended; True if the user may now
    log in. Updates `user` in place."""
    now = clock.now()
    if not user.is_banned or user.banned_until is None or user.banned_until > now:
        return False
    # Conditional, so a ban renewed meanwhile (a new `banned_until`) is not lifted.
    lifted = User.objects.filter(
        pk=user.pk, banned_at=user.banned_at, banned_until__lte=now
    ).update(is_active=True, banned_at=None, banned_until=None, ban_reason="", banned_by=None)
    if not lifted:
        return False
    user.is_active, user.banned_at, user.banned_until = True, None, None
    user.ban_reason, user.banned_by = "", None
    events.record("ban_expired", user_id=str(user.pk))
    return True


def user_may_log_in(user: User) -> bool:
    """Whether `user` may start a session by any method: active, or a temporary ban that
    has just ended (and is lifted here)."""
    return user.is_active or ban_lift_if_expired(user=user)


def bans_expired_lift() -> int:
    """Lift every temporary ban that has ended (for `purge_expired`); returns how many."""
    ended = User.objects.filter(banned_at__isnull=False, banned_until__lte=clock.now())
    return sum(ban_lift_if_expired(user=user) for user in ended.iterator())


def _clear(user: User) -> None:
    user.is_active = True
    user.banned_at = None
    user.banned_until = None
    user.ban_reason = ""
    user.banned_by = None
    user.save(update_fields=BAN_FIELDS)
