import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_self_without_credentials(api):
    response = api.get("/auth/self/")

    assert response.status_code == 401
    assert response.json() == {
        "error": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="authsvc"'


def test_self_does_not_query_the_database_while_the_session_is_cached(
    logged_in, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = logged_in.get("/auth/self/")

    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.com"


def test_patch_name_updates_profile_everywhere(logged_in, user, client_factory):
    other = client_factory()
    other.login(user.email)

    response = logged_in.patch("/auth/self/", {"name": "Alice Liddell"}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "Alice Liddell"
    assert User.objects.get(pk=user.pk).name == "Alice Liddell"
    # Every live session's cached snapshot sees the change at once.
    assert logged_in.get("/auth/self/").json()["name"] == "Alice Liddell"
    assert other.get("/auth/self/").json()["name"] == "Alice Liddell"


@pytest.mark.parametrize("payload", [{}, {"name": 5}, {"name": "x" * 151}, {"name": None}])
def test_patch_rejects_bad_names(logged_in, payload):
    response = logged_in.patch("/auth/self/", payload, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert list(response.json()["fields"]) == ["name"]


def test_patch_with_cookie_requires_csrf(logged_in):
    response = logged_in.patch("/auth/self/", {"name": "Mallory"}, format="json", no_csrf=True)

    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"


def test_self_rejects_other_methods(logged_in):
    response = logged_in.delete("/auth/self/")

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_snapshot_profile_matches_the_profile_serializer():
    from accounts.serializers import ProfileSerializer
    from sessions_store.backends.base import Snapshot

    snapshot = Snapshot(
        sid="s",
        user_id="u",
        email="a@example.com",
        name="A",
        roles=["b", "a"],
        email_verified=True,
        mfa_enabled=False,
        date_joined="2026-01-01T00:00:00+00:00",
        amr=["pwd"],
    )

    assert snapshot.profile() == ProfileSerializer(snapshot).data
