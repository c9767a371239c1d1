"""Bounded sessions: a hard maximum age, one successor per refresh token, and a lost answer
retried without logging the user out.

PostgreSQL and SQLite run the same rotation (`tokens.refresh`): `make test` runs this module
on PostgreSQL, and `test_refresh_on_sqlite.py` runs it again, whole, on a SQLite database."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django_redis import get_redis_connection

from sessions_store.backends.redis import SESSION_KEY
from sessions_store.models import Session
from tokens.models import RefreshToken
from tokens.refresh import refresh_token_hash, refresh_token_successor

pytestmark = pytest.mark.django_db

INVALID_TOKEN = {"error": "invalid_token", "detail": "The token is invalid, expired or revoked."}


def refresh(client, token=None):
    if token is not None:
        client.cookies["refresh_token"] = token
    return client.post_json("/auth/refresh/")


def row(raw: str) -> RefreshToken:
    return RefreshToken.objects.get(token_hash=refresh_token_hash(raw))


def test_the_successor_is_derived_from_the_token_and_the_server_key(settings):
    first = refresh_token_successor("token-a")

    assert first == refresh_token_successor("token-a")
    assert len(first) == 43  # 32 bytes, base64url, like a drawn token
    assert first != refresh_token_successor("token-b")
    settings.SECRET_KEY = "another-server-key-" + "x" * 40
    assert refresh_token_successor("token-a") != first


def test_a_session_ends_at_its_maximum_age_however_often_it_refreshes(api, user, clock):
    logged_in = api
    assert api.login(user.email).status_code == 200
    cap = clock.now() + timedelta(days=30)
    assert Session.objects.get().created_at == clock.now()
    for _ in range(4):  # days 6, 12, 18, 24: each refresh would otherwise push the end on
        clock.advance(days=6)
        assert refresh(logged_in).status_code == 200
    # From day 24 a refresh token would live to day 31; it ends at the cap instead.
    assert row(logged_in.cookie("refresh_token")).expires_at == cap
    assert Session.objects.get().expires_at == cap
    clock.advance(days=6, seconds=-1)

    response = refresh(logged_in)

    assert response.status_code == 200
    token = row(logged_in.cookie("refresh_token"))
    assert token.expires_at == cap == Session.objects.get().expires_at
    assert int(response.cookies["refresh_token"]["max-age"]) == 1
    # The cached snapshot ends with the session too.
    assert 0 < get_redis_connection("default").ttl(SESSION_KEY.format(token.session_id)) <= 1
    clock.advance(seconds=1)

    response = refresh(logged_in)

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    assert response.cookies["refresh_token"]["max-age"] == 0


def test_a_maximum_age_shorter_than_the_refresh_lifetime_caps_the_first_token(
    api, user, clock, settings
):
    settings.AUTHSVC_SESSION_MAX_AGE_SECONDS = 3600

    response = api.login(user.email)

    assert int(response.cookies["refresh_token"]["max-age"]) == 3600
    cap = clock.now() + timedelta(hours=1)
    assert row(api.cookie("refresh_token")).expires_at == cap
    assert Session.objects.get().expires_at == cap
    clock.advance(minutes=59)
    response = refresh(api)
    assert response.status_code == 200
    assert int(response.cookies["refresh_token"]["max-age"]) == 60
    clock.advance(minutes=1)

    assert refresh(api).json() == INVALID_TOKEN


def test_a_session_older_than_the_maximum_age_is_refused_whatever_its_expiry(logged_in, clock):
    # A session written before the cap existed (or under a longer one) ends by its age.
    Session.objects.update(
        created_at=clock.now() - timedelta(days=30), expires_at=clock.now() + timedelta(days=7)
    )
    token = logged_in.cookie("refresh_token")

    assert refresh(logged_in).json() == INVALID_TOKEN
    assert row(token).used_at is None
    assert RefreshToken.objects.count() == 1


def test_same_token_within_grace_gets_the_same_successor(api, user, clock):
    api.login(user.email)
    token = api.cookie("refresh_token")
    assert refresh(api).status_code == 200
    successor = api.cookie("refresh_token")
    clock.advance(seconds=3)

    response = refresh(api, token)

    assert response.status_code == 200
    assert api.cookie("refresh_token") == successor == refresh_token_successor(token)
    assert RefreshToken.objects.count() == 2
    assert row(successor).parent_id == row(token).pk
    assert row(successor).redelivered_at is None  # a race, not a retry
    assert refresh(api).status_code == 200


def test_a_racer_late_within_grace_neither_branches_nor_revives_the_successor(api, user, clock):
    api.login(user.email)
    token = api.cookie("refresh_token")
    refresh(api)
    successor = api.cookie("refresh_token")
    clock.advance(seconds=1)
    refresh(api)  # the other tab already went on
    used_at = row(successor).used_at
    clock.advance(seconds=3)

    assert refresh(api, token).status_code == 200

    assert api.cookie("refresh_token") == successor
    assert RefreshToken.objects.count() == 3
    assert row(successor).used_at == used_at


def test_a_lost_answer_retried_after_grace_gets_the_same_successor(api, user, clock):
    api.login(user.email)
    token = api.cookie("refresh_token")
    assert refresh(api).status_code == 200
    successor = api.cookie("refresh_token")
    successor_expires_at = row(successor).expires_at
    clock.advance(hours=2)  # the answer never arrived; the browser retries much later

    response = refresh(api, token)

    assert response.status_code == 200
    assert api.cookie("refresh_token") == successor
    # The cookie lives exactly as long as the successor, which was not extended.
    assert (
        int(response.cookies["refresh_token"]["max-age"])
        == (successor_expires_at - clock.now()).total_seconds()
    )
    session = Session.objects.get()
    assert session.revoked_at is None and session.last_used_at == clock.now()
    assert row(successor).redelivered_at == clock.now()
    assert RefreshToken.objects.count() == 2
    assert api.get("/auth/self/").status_code == 200
    # The chain goes on from the successor as usual.
    assert refresh(api).status_code == 200
    assert Session.objects.get().revoked_at is None


def test_a_lost_answer_retried_twice_gets_the_same_successor_again(api, user, clock):
    api.login(user.email)
    token = api.cookie("refresh_token")
    refresh(api)
    successor = api.cookie("refresh_token")
    clock.advance(minutes=10)
    refresh(api, token)
    marked_at = row(successor).redelivered_at
    clock.advance(minutes=10)

    assert refresh(api, token).status_code == 200

    assert api.cookie("refresh_token") == successor
    assert row(successor).redelivered_at == marked_at  # the first re-delivery's time stays


def test_replay_after_the_successor_was_used_is_theft(client_factory, user, clock):
    victim, thief = client_factory(), client_factory()
    victim.login(user.email)
    stolen = victim.cookie("refresh_token")
    assert refresh(victim).status_code == 200
    successor = victim.cookie("refresh_token")
    clock.advance(minutes=15)
    assert refresh(victim).status_code == 200
    latest = victim.cookie("refresh_token")
    clock.advance(minutes=1)

    response = refresh(thief, stolen)

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    session = Session.objects.get()
    assert session.revoked_at == clock.now()
    assert session.revoked_reason == "refresh_token_reused"
    assert refresh(client_factory(), latest).json() == INVALID_TOKEN
    assert refresh(client_factory(), successor).json() == INVALID_TOKEN
    assert victim.get("/auth/self/").json() == INVALID_TOKEN


def test_whoever_uses_a_redelivered_successor_second_is_caught(client_factory, user, clock):
    # A thief with a copy of the victim's token gets the successor through the retry rule,
    # but both now hold one token that may be used once.
    victim, thief = client_factory(), client_factory()
    victim.login(user.email)
    stolen = victim.cookie("refresh_token")
    assert refresh(victim).status_code == 200
    clock.advance(minutes=1)
    assert refresh(thief, stolen).status_code == 200
    assert thief.cookie("refresh_token") == victim.cookie("refresh_token")
    clock.advance(minutes=14)
    assert refresh(victim).status_code == 200
    victim_latest = victim.cookie("refresh_token")
    clock.advance(minutes=1)

    response = refresh(thief)

    assert response.json() == INVALID_TOKEN
    assert Session.objects.get().revoked_reason == "refresh_token_reused"
    assert refresh(victim).json() == INVALID_TOKEN
    assert refresh(client_factory(), victim_latest).json() == INVALID_TOKEN


def test_a_lost_answer_is_not_redelivered_to_a_dead_session(api, user, clock):
    api.login(user.email)
    token = api.cookie("refresh_token")
    refresh(api)
    successor = api.cookie("refresh_token")
    Session.objects.update(revoked_at=clock.now(), revoked_reason="logout")
    clock.advance(minutes=10)

    assert refresh(api, token).json() == INVALID_TOKEN
    assert row(successor).redelivered_at is None


def test_a_lost_answer_is_not_redelivered_after_the_maximum_age(api, user, clock, settings):
    settings.AUTHSVC_SESSION_MAX_AGE_SECONDS = 3600
    api.login(user.email)
    token = api.cookie("refresh_token")
    clock.advance(minutes=30)
    refresh(api)
    successor = api.cookie("refresh_token")
    clock.advance(minutes=30)

    assert refresh(api, token).json() == INVALID_TOKEN
    assert refresh(api, successor).json() == INVALID_TOKEN
    assert Session.objects.get().revoked_at is None  # ended by age, not as theft


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_leave_one_successor(client_factory, make_user):
    user = make_user(email="racer@example.com")
    first = client_factory()
    first.login(user.email)
    token, csrf = first.cookie("refresh_token"), first.csrf()
    racers = 20
    results: list[tuple[int, str | None]] = []
    barrier = threading.Barrier(racers)

    def race():
        client = client_factory()
        client.cookies["refresh_token"] = token
        client.cookies["csrftoken"] = csrf
        barrier.wait()
        try:  # each thread has its own database connection
            response = client.post_json("/auth/refresh/")
            results.append((response.status_code, client.cookie("refresh_token")))
        finally:
            connection.close()

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Every racer is within the grace window and gets the one successor.
    successor = refresh_token_successor(token)
    assert results == [(200, successor)] * racers
    session = Session.objects.get()
    assert session.revoked_at is None
    original = row(token)
    assert original.used_at is not None
    children = RefreshToken.objects.exclude(pk=original.pk)
    assert list(children.values_list("token_hash", "parent_id", "used_at")) == [
        (refresh_token_hash(successor), original.pk, None)
    ]
    assert refresh(client_factory(), successor).status_code == 200
