"""purge_expired removes only what is dead, in batches."""

from datetime import timedelta
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.bans import user_ban
from accounts.models import User
from audit.models import AuthEvent
from sessions_store.models import Session
from tokens.models import RefreshToken


@pytest.fixture
def rows(user, make_user, clock, settings):
    now = clock.now()
    keep = timedelta(days=settings.AUTHSVC_DEAD_SESSION_RETENTION_DAYS)

    def session(**fields):
        values = {
            "user": user,
            "created_at": now - timedelta(days=90),
            "last_used_at": now - timedelta(days=1),
            "expires_at": now + timedelta(days=1),
            **fields,
        }
        return Session.objects.create(**values)

    def token(session, name, expires_at, parent=None):
        return RefreshToken.objects.create(
            session=session,
            token_hash=name.ljust(64, "0"),
            parent=parent,
            created_at=now - timedelta(days=2),
            expires_at=expires_at,
        )

    live = session()
    live_old_token = token(live, "a", now - timedelta(seconds=1))
    live_token = token(live, "b", now + timedelta(days=1), parent=live_old_token)
    recently_revoked = session(revoked_at=now - keep + timedelta(hours=1))
    long_revoked = session(revoked_at=now - keep - timedelta(hours=1))
    long_revoked_token = token(long_revoked, "c", now + timedelta(days=3))
    recently_expired = session(expires_at=now - keep + timedelta(hours=1))
    long_expired = session(expires_at=now - keep - timedelta(hours=1))

    retention = timedelta(days=settings.AUTHSVC_AUDIT_RETENTION_DAYS)
    old_event = AuthEvent.objects.create(
        type="logout", user=user, created_at=now - retention - timedelta(minutes=1)
    )
    new_event = AuthEvent.objects.create(
        type="logout", user=user, created_at=now - retention + timedelta(minutes=1)
    )
    return {
        "live": live,
        "live_old_token": live_old_token,
        "live_token": live_token,
        "recently_revoked": recently_revoked,
        "long_revoked": long_revoked,
        "long_revoked_token": long_revoked_token,
        "recently_expired": recently_expired,
        "long_expired": long_expired,
        "old_event": old_event,
        "new_event": new_event,
    }


def exists(row) -> bool:
    return type(row).objects.filter(pk=row.pk).exists()


def test_purge_removes_only_what_is_dead(rows):
    out = StringIO()

    call_command("purge_expired", "--batch-size", "1", stdout=out)

    survivors = {"live", "live_token", "recently_revoked", "recently_expired", "new_event"}
    for name, row in rows.items():
        assert exists(row) is (name in survivors), name
    assert "Deleted 1 expired refresh token(s), 2 dead session(s), 1 old event(s)" in out.getvalue()


def test_a_login_that_expired_long_ago_is_purged_whole(logged_in, user, clock, settings):
    assert Session.objects.filter(user=user).count() == 1
    clock.advance(
        seconds=settings.AUTHSVC_REFRESH_TTL_SECONDS,
        days=settings.AUTHSVC_DEAD_SESSION_RETENTION_DAYS + 1,
    )

    call_command("purge_expired", stdout=StringIO())

    assert not Session.objects.filter(user=user).exists()
    assert not RefreshToken.objects.filter(session__user=user).exists()


def test_a_fresh_login_survives_a_purge(logged_in, user):
    call_command("purge_expired", stdout=StringIO())

    assert logged_in.get("/auth/self/").status_code == 200
    assert logged_in.post_json("/auth/refresh/").status_code == 200


def test_purge_lifts_ended_bans(user, clock):
    user_ban(user=user, reason="r", until=clock.now() + timedelta(hours=1))
    clock.advance(hours=2)

    call_command("purge_expired", stdout=StringIO())

    assert User.objects.get(pk=user.pk).is_active


def test_purge_refuses_a_bad_batch_size(db):
    with pytest.raises(CommandError):
        call_command("purge_expired", "--batch-size", "0")


def test_the_purge_pauses_between_full_batches(user, clock, settings, monkeypatch):
    from authsvc.batching import delete_in_batches

    settings.AUTHSVC_PURGE_PAUSE_MS = 20
    pauses = []
    # Only batching's own `time`: patching time.sleep itself also caught (and made spin)
    # every background thread of the process that sleeps, such as the breakers' probes.
    monkeypatch.setattr("authsvc.batching.time", SimpleNamespace(sleep=pauses.append))
    session = Session.objects.create(
        user=user, created_at=clock.now(), last_used_at=clock.now(), expires_at=clock.now()
    )
    for i in range(5):
        RefreshToken.objects.create(
            session=session,
            token_hash=str(i).ljust(64, "0"),
            created_at=clock.now() - timedelta(days=2),
            expires_at=clock.now() - timedelta(days=1),
        )

    deleted = delete_in_batches(RefreshToken.objects.all(), batch_size=2)

    assert deleted == 5
    assert pauses == [0.02, 0.02]  # after the two full batches, not after the last
