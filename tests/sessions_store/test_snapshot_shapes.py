"""Snapshots written by another release (an older or newer shape) are read or treated as a
miss, never a 500: they live in Redis across deployments."""

import json
from dataclasses import dataclass

import pytest
from django_redis import get_redis_connection

from sessions_store.backends.base import SNAPSHOT_FORMAT, Snapshot
from sessions_store.backends.redis import SESSION_KEY
from sessions_store.models import Session

pytestmark = pytest.mark.django_db


@pytest.fixture
def cached(logged_in):
    """The raw Redis value of the logged-in session's snapshot (the JSON array), and a way
    to replace it."""
    sid = str(Session.objects.get().pk)
    redis = get_redis_connection("default")
    key = SESSION_KEY.format(sid)

    def rewrite(change) -> None:
        data = json.loads(redis.get(key))
        change(data)
        redis.set(key, json.dumps(data), keepttl=True)

    def current() -> list:
        return json.loads(redis.get(key))

    return rewrite, current


def _drop_amr(data: list) -> None:
    del data[8:]  # a release before `amr` existed (user_id .. date_joined only)


def _add_unknown(data: list) -> None:
    # A later release appends its fields: every field up to then, then its own.
    defaults = [0, [], {}]
    data.extend(defaults[len(data) - 9 :])
    data.append({"x": 1})


@pytest.mark.parametrize("path", ["/auth/self/", "/auth/refresh/"])
def test_a_snapshot_missing_a_field_is_a_miss_and_is_rewritten(logged_in, cached, path):
    rewrite, current = cached
    rewrite(_drop_amr)

    response = logged_in.post_json(path) if path == "/auth/refresh/" else logged_in.get(path)

    assert response.status_code == 200, response.content
    # Read from the database and written back in this release's shape.
    assert current()[0] == SNAPSHOT_FORMAT and current()[8] == ["pwd"]


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
        b"[2]",
        json.dumps([3, "u", "a@example.com", "", [], 1, 0, "2026", ["pwd"]]).encode(),
        json.dumps([2, "u", "a@example.com", "", [], 1, 0, "2026"]).encode(),
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


_FIELDS = {
    "user_id": "u",
    "email": "a@example.com",
    "name": "",
    "roles": ["user"],
    "email_verified": False,
    "mfa_enabled": False,
    "date_joined": "2026-01-01T00:00:00+00:00",
    "amr": ["pwd"],
}


def _older_value() -> str:
    """A value of a release before `auth_time` and the session claims."""
    return json.dumps(
        [2, "u", "a@example.com", "", ["user"], 0, 0, "2026-01-01T00:00:00+00:00", ["pwd"]]
    )


def test_a_field_added_with_a_default_decodes_from_an_older_value():
    later = _LaterSnapshot.from_json(_older_value(), sid="s")

    assert later == _LaterSnapshot(sid="s", **_FIELDS, auth_level=1)
    # And the value the later release writes is still read by this one.
    assert Snapshot.from_json(later.to_json(), sid="s") == Snapshot(sid="s", **_FIELDS)
    assert Snapshot.from_json(
        _LaterSnapshot(sid="s", **_FIELDS, auth_level=3).to_json(), sid="s"
    ) == Snapshot(sid="s", **_FIELDS)
    # A value equal to the default is left out, any other is kept.
    assert (
        _LaterSnapshot.from_json(
            _LaterSnapshot(sid="s", **_FIELDS, auth_level=0).to_json(), sid="s"
        ).auth_level
        == 0
    )


def test_the_object_form_of_earlier_releases_is_read():
    value = json.dumps({"sid": "s", **_FIELDS, "auth_time": 7, "permissions": ["p"]})

    assert Snapshot.from_json(value, sid="s") == Snapshot(
        sid="s", **_FIELDS, auth_time=7, permissions=["p"]
    )
    assert Snapshot.from_json(json.dumps({"sid": "s", "user_id": "u"}), sid="s") is None


def test_the_value_is_compact():
    snapshot = Snapshot(sid="7d3c1f1e-0000-4000-8000-000000000000", **_FIELDS, auth_time=1)

    value = snapshot.to_json()

    # date_joined as microseconds since 1970: 16 digits instead of 32 characters.
    assert value == '[2,"u","a@example.com","",["user"],0,0,1767225600000000,["pwd"],1]'
    assert snapshot.sid not in value  # it is the key
    assert Snapshot.from_json(value, sid=snapshot.sid) == snapshot
    # Non-ASCII names stay as they are (no \\u escapes doubling them).
    named = Snapshot(sid="s", **{**_FIELDS, "name": "Zoë"})
    assert "Zoë" in named.to_json() and Snapshot.from_json(named.to_json(), sid="s") == named


@pytest.mark.parametrize(
    "date_joined",
    [
        "2026-11-30T08:49:43.123456+00:00",
        "2026-11-30T08:49:43+00:00",
        "1999-12-31T23:59:59.000001+00:00",
    ],
)
def test_date_joined_comes_back_as_the_same_text(date_joined):
    snapshot = Snapshot(sid="s", **{**_FIELDS, "date_joined": date_joined})

    assert isinstance(json.loads(snapshot.to_json())[7], int)
    assert Snapshot.from_json(snapshot.to_json(), sid="s").date_joined == date_joined


@pytest.mark.parametrize(
    "date_joined", ["2026-11-30T09:49:43+01:00", "2026-11-30T08:49:43", "not a date", ""]
)
def test_other_date_texts_are_kept_as_they_are(date_joined):
    snapshot = Snapshot(sid="s", **{**_FIELDS, "date_joined": date_joined})

    assert json.loads(snapshot.to_json())[7] == date_joined
    assert Snapshot.from_json(snapshot.to_json(), sid="s") == snapshot


def test_bytes_that_are_not_text_are_a_miss_not_an_exception():
    assert Snapshot.from_json(b"\xff\xfe", sid="s") is None


def test_a_value_from_before_session_claims_decodes_with_none():
    snapshot = Snapshot.from_json(_older_value(), sid="s")

    assert (snapshot.permissions, snapshot.attributes) == ([], {})
    # The claims round-trip in this release's shape.
    with_claims = Snapshot(
        sid="s", **_FIELDS, permissions=["orders:read"], attributes={"tier": "gold"}
    )
    assert Snapshot.from_json(with_claims.to_json(), sid="s") == with_claims
