"""Snapshots written by another release (an older or newer shape) are read or treated as a
miss, never a 500: they live in Redis across deployments."""

import json
from dataclasses import dataclass

import pytest
from django_redis import get_redis_connection

from sessions_store.backends.base import Snapshot
from sessions_store.backends.redis import SESSION_KEY
from sessions_store.models import Session

pytestmark = pytest.mark.django_db


@pytest.fixture
def cached(logged_in):
    """The raw Redis value of the logged-in session's snapshot, and a way to replace it."""
    sid = str(Session.objects.get().pk)
    redis = get_redis_connection("default")
    key = SESSION_KEY.format(sid)

    def rewrite(change) -> None:
        data = json.loads(redis.get(key))
        change(data)
        redis.set(key, json.dumps(data), keepttl=True)

    def current() -> dict:
        return json.loads(redis.get(key))

    return rewrite, current


def _drop_amr(data: dict) -> None:
    del data["amr"]  # a release before `amr` existed


def _add_unknown(data: dict) -> None:
    data["added_by_a_later_release"] = {"x": 1}


@pytest.mark.parametrize("path", ["/auth/self/", "/auth/refresh/"])
def test_a_snapshot_missing_a_field_is_a_miss_and_is_rewritten(logged_in, cached, path):
    rewrite, current = cached
    rewrite(_drop_amr)

    response = logged_in.post_json(path) if path == "/auth/refresh/" else logged_in.get(path)

    assert response.status_code == 200, response.content
    # Read from the database and written back in this release's shape.
    assert set(current()) >= {"amr", "sid", "user_id"}


@pytest.mark.parametrize("path", ["/auth/self/", "/auth/refresh/"])
def test_a_snapshot_with_an_unknown_field_is_read(
    logged_in, cached, path, django_assert_num_queries
):
    rewrite, _ = cached
    rewrite(_add_unknown)

    if path == "/auth/self/":
        with django_assert_num_queries(0):  # still a hit: no database read
            response = logged_in.get(path)
        assert response.json()["email"] == "alice@example.com"
    else:
        response = logged_in.post_json(path)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[1, 2]",
        b'"a string"',
        b"null",
        b"[" * 5000 + b"]" * 5000,
        json.dumps({"sid": "s", "user_id": 3}).encode(),
    ],
)
def test_a_value_that_is_not_a_snapshot_is_a_miss(logged_in, raw):
    redis = get_redis_connection("default")
    redis.set(SESSION_KEY.format(Session.objects.get().pk), raw, keepttl=True)

    response = logged_in.get("/auth/self/")

    assert response.status_code == 200, response.content
    assert response.json()["email"] == "alice@example.com"


@dataclass(frozen=True, slots=True)
class _LaterSnapshot(Snapshot):
    """A later release's Snapshot: one more field, with a default."""

    auth_level: int = 1


def _older_value() -> str:
    return json.dumps(
        {
            "sid": "s",
            "user_id": "u",
            "email": "a@example.com",
            "name": "",
            "roles": ["user"],
            "email_verified": False,
            "mfa_enabled": False,
            "date_joined": "2026-01-01T00:00:00+00:00",
            "amr": ["pwd"],
        }
    )


def test_a_field_added_with_a_default_decodes_from_an_older_value():
    later = _LaterSnapshot.from_json(_older_value())

    assert later == _LaterSnapshot(**json.loads(_older_value()), auth_level=1)
    # And the value the later release writes is still read by this one.
    assert Snapshot.from_json(later.to_json()) == Snapshot(**json.loads(_older_value()))


def test_bytes_that_are_not_text_are_a_miss_not_an_exception():
    assert Snapshot.from_json(b"\xff\xfe") is None


def test_a_value_from_before_session_claims_decodes_with_none():
    snapshot = Snapshot.from_json(_older_value())

    assert (snapshot.permissions, snapshot.attributes) == ([], {})
    # The claims round-trip in this release's shape.
    with_claims = Snapshot(
        **json.loads(_older_value()), permissions=["orders:read"], attributes={"tier": "gold"}
    )
    assert Snapshot.from_json(with_claims.to_json()) == with_claims
