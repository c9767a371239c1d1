import uuid

import pytest

from sessions_store.models import Session

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def test_list_shows_live_sessions_and_the_current_one(client_factory, user):
    laptop, phone = (
        client_factory(HTTP_USER_AGENT=FIREFOX),
        client_factory(HTTP_USER_AGENT=SAFARI_IPHONE),
    )
    laptop.login(user.email)
    phone.login(user.email)

    response = laptop.get("/auth/sessions/")

    assert response.status_code == 200
    rows = {row["device"]: row for row in response.json()}
    assert set(rows) == {"Firefox on Windows", "Safari on iPhone"}
    assert rows["Firefox on Windows"]["current"] is True
    assert rows["Safari on iPhone"]["current"] is False
    row = rows["Firefox on Windows"]
    assert set(row) == {
        "id",
        "created_at",
        "last_used_at",
        "ip",
        "user_agent",
        "device",
        "current",
        "kind",
    }
    assert row["ip"] == "127.0.0.1" and row["user_agent"] == FIREFOX
    assert row["kind"] == "api"


def test_list_hides_other_users_and_dead_sessions(client_factory, user, make_user):
    mine, theirs, gone = client_factory(), client_factory(), client_factory()
    mine.login(user.email)
    gone.login(user.email)
    gone.post_json("/auth/logout/")
    theirs.login(make_user().email)

    assert [row["current"] for row in mine.get("/auth/sessions/").json()] == [True]


def test_delete_a_session_kills_its_tokens_at_once(client_factory, user):
    laptop, phone = client_factory(), client_factory()
    laptop.login(user.email)
    phone.login(user.email)
    phone_sid = next(r["id"] for r in laptop.get("/auth/sessions/").json() if not r["current"])

    response = laptop.delete(f"/auth/sessions/{phone_sid}/")

    assert response.status_code == 204
    assert phone.get("/auth/self/").json()["error"] == "invalid_token"
    assert phone.post_json("/auth/refresh/").status_code == 401
    assert laptop.get("/auth/self/").status_code == 200
    assert Session.objects.get(pk=phone_sid).revoked_reason == "revoked_by_user"


def test_delete_another_users_session_is_a_404(client_factory, user, make_user):
    mine, theirs = client_factory(), client_factory()
    mine.login(user.email)
    theirs.login(make_user().email)
    their_sid = Session.objects.exclude(user=user).get().pk

    response = mine.delete(f"/auth/sessions/{their_sid}/")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert theirs.get("/auth/self/").status_code == 200


def test_delete_unknown_or_malformed_session(logged_in):
    assert logged_in.delete(f"/auth/sessions/{uuid.uuid4()}/").status_code == 404
    assert logged_in.delete("/auth/sessions/not-a-uuid/").json()["error"] == "not_found"


def test_delete_needs_csrf(logged_in):
    sid = Session.objects.get().pk

    response = logged_in.delete(f"/auth/sessions/{sid}/", no_csrf=True)

    assert response.status_code == 403
    assert Session.objects.get().revoked_at is None


def test_logout_all_ends_every_session_including_this_one(client_factory, user):
    clients = [client_factory() for _ in range(3)]
    for client in clients:
        client.login(user.email)

    response = clients[0].post_json("/auth/logout-all/")

    assert response.status_code == 200
    assert response.json()["revoked"] == 3
    assert response.cookies["access_token"]["max-age"] == 0
    for client in clients:
        assert client.get("/auth/self/").status_code == 401
    assert not Session.objects.filter(revoked_at__isnull=True).exists()


def test_sessions_need_authentication(api):
    assert api.get("/auth/sessions/").json()["error"] == "not_authenticated"
    assert api.post_json("/auth/logout-all/").status_code == 401
