"""PUT /auth/sessions/<sid>/claims/: an authorization service sets a session's permissions
and attributes; introspection sees them at once, access tokens from the next refresh."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_redis import get_redis_connection

from accounts.bans import user_ban
from audit.models import AuthEvent
from sessions_store.backends.base import Snapshot
from sessions_store.backends.redis import SESSION_KEY
from sessions_store.claims import PERMISSIONS_MAX
from sessions_store.models import Session
from sessions_store.selectors import session_snapshot
from sessions_store.services import session_revoke
from tests.sessions_store.claims_helpers import (  # noqa: F401 - fixtures
    authz,
    claims_of,
    service_factory,
    session_id,
)
from tests.tokens.conftest import assert_error

pytestmark = pytest.mark.django_db

PERMISSIONS = ["orders:read", "orders:write", "billing/eu:view"]
ATTRIBUTES = {"tenant": "acme", "plan": {"tier": "gold", "seats": [5, 10]}, "beta": True}


def test_claims_are_set_and_answered(logged_in, authz):  # noqa: F811
    sid = session_id()

    response = authz.put_claims(sid, {"permissions": PERMISSIONS, "attributes": ATTRIBUTES})

    assert response.status_code == 200, response.content
    assert response.json() == {"sid": sid, "permissions": PERMISSIONS, "attributes": ATTRIBUTES}


def test_the_snapshot_and_introspection_see_them_at_once(logged_in, authz):  # noqa: F811
    sid = session_id()
    access = logged_in.cookie("access_token")
    assert "permissions" not in authz.introspect(access).json()

    authz.put_claims(sid, {"permissions": PERMISSIONS, "attributes": ATTRIBUTES})

    snapshot = session_snapshot(sid)
    assert (snapshot.permissions, snapshot.attributes) == (PERMISSIONS, ATTRIBUTES)
    cached = Snapshot.from_json(
        get_redis_connection("default").get(SESSION_KEY.format(sid)), sid=sid
    )
    assert (cached.permissions, cached.attributes) == (PERMISSIONS, ATTRIBUTES)
    answer = authz.introspect(access).json()
    assert answer["active"] is True
    assert (answer["permissions"], answer["attrs"]) == (PERMISSIONS, ATTRIBUTES)
    # The token in hand was minted before: it carries none of them.
    assert "permissions" not in claims_of(access)


def test_the_next_refreshed_access_token_carries_them(logged_in, authz):  # noqa: F811
    authz.put_claims(session_id(), {"permissions": PERMISSIONS, "attributes": ATTRIBUTES})

    assert logged_in.post_json("/auth/refresh/").status_code == 200

    claims = claims_of(logged_in.cookie("access_token"))
    assert (claims["permissions"], claims["attrs"]) == (PERMISSIONS, ATTRIBUTES)
    assert logged_in.get("/auth/self/").status_code == 200


def test_a_snapshot_rebuilt_from_the_database_carries_them(logged_in, authz):  # noqa: F811
    sid = session_id()
    authz.put_claims(sid, {"permissions": PERMISSIONS, "attributes": ATTRIBUTES})
    get_redis_connection("default").delete(SESSION_KEY.format(sid))  # a miss

    assert logged_in.post_json("/auth/refresh/").status_code == 200

    assert claims_of(logged_in.cookie("access_token"))["permissions"] == PERMISSIONS
    assert session_snapshot(sid).attributes == ATTRIBUTES


def test_a_put_replaces_the_whole_set(logged_in, authz):  # noqa: F811
    sid = session_id()
    authz.put_claims(sid, {"permissions": PERMISSIONS, "attributes": ATTRIBUTES})

    response = authz.put_claims(sid, {"attributes": {"tenant": "other"}})

    assert response.json() == {"sid": sid, "permissions": [], "attributes": {"tenant": "other"}}
    logged_in.post_json("/auth/refresh/")
    claims = claims_of(logged_in.cookie("access_token"))
    assert "permissions" not in claims and claims["attrs"] == {"tenant": "other"}
    # And an empty body empties both: the token leaves the claims out.
    authz.put_claims(sid, {})
    logged_in.post_json("/auth/refresh/")
    assert {"permissions", "attrs"}.isdisjoint(claims_of(logged_in.cookie("access_token")))


def test_logins_and_refreshes_without_claims_leave_them_out(logged_in):
    assert {"permissions", "attrs"}.isdisjoint(claims_of(logged_in.cookie("access_token")))
    logged_in.post_json("/auth/refresh/")
    assert {"permissions", "attrs"}.isdisjoint(claims_of(logged_in.cookie("access_token")))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"permissions": [f"p{i}" for i in range(PERMISSIONS_MAX + 1)]}, "permissions"),
        ({"permissions": ["has space"]}, "permissions.0"),
        ({"permissions": ["ok", ""]}, "permissions.1"),
        ({"permissions": ["ok", 3]}, "permissions.1"),
        ({"permissions": "orders:read"}, "permissions"),
        ({"permissions": None}, "permissions"),
        ({"attributes": ["a"]}, "attributes"),
        ({"attributes": {"a": {"b": [[1]]}}}, "attributes"),
        ({"attributes": {"pad": "v" * 2100}}, "non_field_errors"),
        ({"permission": ["orders:read"]}, "permission"),
        ([1, 2], "non_field_errors"),
    ],
)
def test_out_of_bounds_is_invalid_request_naming_the_field(
    logged_in,
    authz,  # noqa: F811
    body,
    field,
):
    sid = session_id()
    authz.put_claims(sid, {"permissions": PERMISSIONS})

    response = authz.put_claims(sid, body)

    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"
    assert field in response.json()["fields"], response.json()
    # Nothing changed.
    assert session_snapshot(sid).permissions == PERMISSIONS


def test_a_form_body_is_refused(logged_in, authz):  # noqa: F811
    response = authz.http.put(
        f"/auth/sessions/{session_id()}/claims/",
        "permissions=a",
        content_type="application/x-www-form-urlencoded",
        **authz.bearer(),
    )

    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("sid", [str(uuid.uuid4()), "not-a-uuid", "1", "%00", "0" * 300])
def test_an_unknown_or_malformed_session_is_404(authz, sid):  # noqa: F811
    assert_error(authz.put_claims(sid, {"permissions": ["a"]}), 404, "not_found")


def test_a_revoked_session_is_404_and_stays_revoked(logged_in, authz):  # noqa: F811
    sid = session_id()
    access = logged_in.cookie("access_token")
    session_revoke(session_id=sid, reason="logout")

    assert_error(authz.put_claims(sid, {"permissions": ["a"]}), 404, "not_found")

    assert session_snapshot(sid) is None
    assert get_redis_connection("default").get(SESSION_KEY.format(sid)) == b"!"
    assert authz.introspect(access).json() == {"active": False}


def test_an_expired_session_is_404(logged_in, authz):  # noqa: F811
    Session.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_error(authz.put_claims(session_id(), {"permissions": ["a"]}), 404, "not_found")


def test_a_banned_users_session_is_404(logged_in, authz, user):  # noqa: F811
    sid = session_id()
    user_ban(user=user, reason="abuse")

    assert_error(authz.put_claims(sid, {"permissions": ["a"]}), 404, "not_found")
    assert session_snapshot(sid) is None


def test_http_basic_with_the_scope_works(logged_in, authz):  # noqa: F811
    response = authz.put_claims(session_id(), {"permissions": ["a"]}, auth=authz.basic())

    assert response.status_code == 200, response.content


def test_without_the_scope_is_403(logged_in, service_factory):  # noqa: F811
    introspector = service_factory(["introspect"])

    for auth in (introspector.bearer(), introspector.basic()):
        response = introspector.put_claims(session_id(), {"permissions": ["a"]}, auth=auth)
        assert_error(response, 403, "insufficient_scope")
    assert session_snapshot(session_id()).permissions == []


def test_no_credential_or_a_wrong_one_is_401(logged_in, authz, service_factory):  # noqa: F811
    sid = session_id()
    elsewhere = service_factory(audience="https://orders.example")
    wrong = [
        {},
        authz.basic(secret="wrong"),
        {"HTTP_AUTHORIZATION": "Bearer not-a-token"},
        # Minted for another service: that service must not replay it here.
        elsewhere.bearer(),
    ]
    for auth in wrong:
        response = authz.put_claims(sid, {"permissions": ["a"]}, auth=auth)
        assert_error(response, 401, "invalid_client")
        assert response["WWW-Authenticate"].startswith("Basic")
    assert session_snapshot(sid).permissions == []


def test_a_users_access_token_is_never_accepted(logged_in, authz):  # noqa: F811
    sid = session_id()
    access = logged_in.cookie("access_token")

    as_bearer = authz.put_claims(
        sid, {"permissions": ["a"]}, auth={}, HTTP_AUTHORIZATION=f"Bearer {access}"
    )
    assert_error(as_bearer, 401, "invalid_client")
    # Nor the user's cookies (the browser's own client, with its CSRF token).
    as_cookie = logged_in.put(
        f"/auth/sessions/{sid}/claims/", {"permissions": ["a"]}, format="json"
    )
    assert_error(as_cookie, 401, "invalid_client")
    assert session_snapshot(sid).permissions == []


def test_the_audit_event_has_counts_not_values(logged_in, authz, user):  # noqa: F811
    sid = session_id()

    authz.put_claims(sid, {"permissions": PERMISSIONS, "attributes": ATTRIBUTES})

    event = AuthEvent.objects.get(type="session_claims_set")
    assert str(event.user_id) == str(user.pk) and str(event.session_id) == sid
    assert event.details == {"client_id": authz.client_id, "permissions": 3, "attributes": 3}
    assert "acme" not in json.dumps(event.details) and "orders" not in json.dumps(event.details)
