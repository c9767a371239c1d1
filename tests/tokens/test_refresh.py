import json
from datetime import timedelta

import pytest

from sessions_store.models import Session
from tests.conftest import logged_events
from tokens.models import RefreshToken
from tokens.services import refresh_token_hash

pytestmark = pytest.mark.django_db

INVALID_TOKEN = {"error": "invalid_token", "detail": "The token is invalid, expired or revoked."}


def refresh(client, token=None):
    if token is not None:
        client.cookies["refresh_token"] = token
    return client.post_json("/auth/refresh/")


def test_refresh_rotates_both_cookies(logged_in, user):
    old_access, old_refresh = logged_in.cookie("access_token"), logged_in.cookie("refresh_token")

    response = refresh(logged_in)

    assert response.status_code == 200
    assert response.json() == {"id": str(user.pk)}
    new_access, new_refresh = logged_in.cookie("access_token"), logged_in.cookie("refresh_token")
    assert new_access != old_access and new_refresh != old_refresh
    assert response.cookies["refresh_token"]["path"] == "/auth/"
    old = RefreshToken.objects.get(token_hash=refresh_token_hash(old_refresh))
    new = RefreshToken.objects.get(token_hash=refresh_token_hash(new_refresh))
    assert old.used_at is not None and new.used_at is None
    assert new.parent_id == old.pk and new.session_id == old.session_id
    assert logged_in.get("/auth/self/").status_code == 200


def test_refresh_tokens_are_stored_only_as_hashes(logged_in):
    raw = logged_in.cookie("refresh_token")

    assert len(raw) >= 43  # 32 random bytes, base64url
    stored = RefreshToken.objects.get()
    assert stored.token_hash == refresh_token_hash(raw) != raw
    assert not RefreshToken.objects.filter(token_hash=raw).exists()


def test_refresh_moves_session_last_used(logged_in, clock):
    clock.advance(minutes=10)

    refresh(logged_in)

    session = Session.objects.get()
    assert session.last_used_at == clock.now()
    assert session.expires_at == clock.now() + timedelta(days=7)


@pytest.mark.parametrize("token", [None, "", "unknown-token", "x" * 500])
def test_refresh_with_missing_or_unknown_token(api, user, token):
    if token is not None:
        api.cookies["refresh_token"] = token

    response = api.post_json("/auth/refresh/")

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


def test_failed_refresh_clears_the_cookies(api, user):
    api.cookies["refresh_token"] = "unknown-token"

    response = api.post_json("/auth/refresh/")

    assert response.cookies["refresh_token"].value == ""
    assert response.cookies["refresh_token"]["max-age"] == 0
    assert response.cookies["access_token"]["max-age"] == 0


def test_expired_refresh_token_is_refused(api, user, clock):
    api.login(user.email)
    clock.advance(days=7, seconds=1)

    assert refresh(api).json() == INVALID_TOKEN


def test_refresh_requires_csrf(logged_in):
    response = logged_in.post_json("/auth/refresh/", no_csrf=True)

    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"
    assert not RefreshToken.objects.filter(used_at__isnull=False).exists()


def test_refresh_after_logout_is_refused(logged_in):
    token = logged_in.cookie("refresh_token")
    logged_in.post_json("/auth/logout/")

    assert refresh(logged_in, token).json() == INVALID_TOKEN


def test_reuse_within_grace_is_a_racing_tab(api, user, clock):
    api.login(user.email)
    stolen = api.cookie("refresh_token")
    assert refresh(api).status_code == 200
    successor = api.cookie("refresh_token")
    clock.advance(seconds=4)

    response = refresh(api, stolen)

    assert response.status_code == 200
    assert Session.objects.get().revoked_at is None
    assert api.get("/auth/self/").status_code == 200
    # The racing tab gets the same successor: one chain, never a sibling branch.
    assert api.cookie("refresh_token") == successor
    assert RefreshToken.objects.filter(session=Session.objects.get()).count() == 2


def test_reuse_after_grace_revokes_the_whole_session(client_factory, user, clock):
    victim, thief = client_factory(), client_factory()
    victim.login(user.email)
    stolen = victim.cookie("refresh_token")
    assert refresh(victim).status_code == 200
    clock.advance(minutes=15)
    assert refresh(victim).status_code == 200  # the chain went on past the stolen token
    clock.advance(seconds=6)

    response = refresh(thief, stolen)

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    session = Session.objects.get()
    assert session.revoked_at == clock.now()
    assert session.revoked_reason == "refresh_token_reused"
    # The victim's current tokens die with it, the access token at once.
    assert victim.get("/auth/self/").json() == INVALID_TOKEN
    assert refresh(victim).json() == INVALID_TOKEN


def test_reuse_is_logged_as_an_event(client_factory, user, clock, caplog):
    victim = client_factory()
    victim.login(user.email)
    stolen = victim.cookie("refresh_token")
    refresh(victim)
    clock.advance(seconds=30)
    refresh(victim)
    clock.advance(seconds=30)

    with caplog.at_level("INFO", logger="authsvc.events"):
        refresh(client_factory(), stolen)

    lines = logged_events(caplog)
    assert "refresh_reuse_detected" in [line["event"] for line in lines]
    assert stolen not in json.dumps(lines)


def test_refresh_of_banned_user_is_refused(logged_in, user):
    type(user).objects.filter(pk=user.pk).update(is_active=False)

    assert refresh(logged_in).json() == INVALID_TOKEN


def test_the_rotation_writes_times_the_way_the_orm_reads_them(logged_in, clock):
    # The rotation is plain SQL; on SQLite, which compares timestamps as text, a time written
    # in another form than the ORM's would miss equality and shift every boundary by a hair.
    clock.advance(seconds=1, microseconds=250)
    old = logged_in.cookie("refresh_token")

    assert refresh(logged_in).status_code == 200

    used = RefreshToken.objects.get(token_hash=refresh_token_hash(old))
    new = RefreshToken.objects.get(token_hash=refresh_token_hash(logged_in.cookie("refresh_token")))
    session = Session.objects.get()
    assert used.used_at == new.created_at == session.last_used_at == clock.now()
    assert RefreshToken.objects.filter(used_at=clock.now()).get() == used
    assert RefreshToken.objects.filter(created_at=clock.now()).get() == new
    assert RefreshToken.objects.filter(expires_at=new.expires_at).get() == new
    assert Session.objects.filter(expires_at=new.expires_at, last_used_at=clock.now()).exists()
    assert not Session.objects.filter(expires_at__gt=new.expires_at).exists()
