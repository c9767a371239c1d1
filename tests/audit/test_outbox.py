"""The outbox rows: written in the caller's transaction, one `session.revoked` per session on
every revocation path, data exactly as the registry says."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from accounts.bans import user_ban, user_unban
from audit.event_types import EVENT_TYPES, markdown
from audit.outbox import RECORDED, outbox_append
from sessions_store.models import Session
from sessions_store.services import session_revoke_by_operator, user_sessions_revoke_by_operator
from tests.audit.outbox_helpers import outbox, reuse_refresh_token

pytestmark = pytest.mark.django_db


def _sessions(client_factory, user, count=2) -> list[str]:
    for _ in range(count):
        assert client_factory().login(user.email).status_code == 200
    return sorted(str(pk) for pk in Session.objects.filter(user=user).values_list("pk", flat=True))


def _revoked(reason) -> list[str]:
    rows = [r for r in outbox("session.revoked") if r.data == {"reason": reason}]
    return sorted(r.session_id for r in rows)


def test_a_login_writes_session_created(logged_in, user):
    session = Session.objects.get(user=user)
    [row] = outbox("session.created")
    assert (row.user_id, row.session_id) == (str(user.pk), str(session.pk))
    assert row.data == {"amr": ["pwd"], "kind": "api"}
    assert row.sent_at is None


def test_registration_writes_user_registered_and_its_session(api):
    assert api.register().status_code == 201
    assert [r.type for r in outbox()] == ["session.created", "user.registered"]
    assert outbox("user.registered")[0].data == {"method": "password"}


def test_a_rolled_back_change_leaves_no_outbox_row(user, client_factory):
    sids = _sessions(client_factory, user)
    before = len(outbox())
    with pytest.raises(RuntimeError), transaction.atomic():
        user_ban(user=user, reason="spam")
        assert len(outbox()) > before  # written inside the transaction...
        raise RuntimeError
    assert len(outbox()) == before  # ...and gone with it
    assert Session.objects.filter(pk__in=sids, revoked_at__isnull=True).count() == 2


def test_logout_and_logout_all(client_factory, user):
    first, second, third = (client_factory() for _ in range(3))
    for client in (first, second, third):
        assert client.login(user.email).status_code == 200
    assert first.post_json("/auth/logout/").status_code == 200
    assert len(_revoked("logout")) == 1
    assert second.post_json("/auth/logout-all/").status_code == 200
    assert len(_revoked("logout_all")) == 2  # the other two; the first was already gone
    assert len(outbox("session.revoked")) == 3


def test_deleting_one_session(client_factory, user):
    client = client_factory()
    assert client.login(user.email).status_code == 200
    mine = str(Session.objects.get(user=user).pk)
    [victim] = [s for s in _sessions(client_factory, user, count=1) if s != mine]
    assert client.delete(f"/auth/sessions/{victim}/").status_code == 204
    assert _revoked("revoked_by_user") == [victim]


@pytest.mark.parametrize(
    ("revoke", "reason"),
    [
        (lambda user: user_ban(user=user, reason="spam"), "banned"),
        (lambda user: user_sessions_revoke_by_operator(user_id=user.pk), "revoked_by_operator"),
        (lambda user: call_command("revoke_sessions", user.email), "revoked_by_operator"),
    ],
)
def test_operator_paths_report_each_session(client_factory, user, revoke, reason):
    sids = _sessions(client_factory, user)
    revoke(user)
    assert _revoked(reason) == sids


def test_one_session_by_operator(client_factory, user):
    sids = _sessions(client_factory, user)
    assert session_revoke_by_operator(session_id=sids[0])
    assert not session_revoke_by_operator(session_id=sids[0])  # already ended: no 2nd event
    assert _revoked("revoked_by_operator") == sids[:1]


def test_password_change_keeps_the_current_session(logged_in, client_factory, user):
    other = _sessions(client_factory, user, count=1)
    response = logged_in.post_json(
        "/auth/password/change/",
        {"current_password": "correct horse battery staple", "new_password": "n3w-Passw0rd-x"},
    )
    assert response.status_code == 200, response.content
    current = Session.objects.get(user=user, revoked_at__isnull=True)
    assert _revoked("password_changed") == [s for s in other if s != str(current.pk)]
    [changed] = outbox("password.changed")
    assert changed.data == {"by": None, "sessions_revoked": 1}


def test_refresh_token_reuse(logged_in, api, user, clock, client_factory):
    reuse_refresh_token(api, client_factory(), clock)
    sid = str(Session.objects.get(user=user).pk)
    assert [r.type for r in outbox()][-2:] == ["session.revoked", "refresh_token.reused"]
    assert _revoked("refresh_token_reused") == [sid]
    assert outbox("refresh_token.reused")[0].session_id == sid


def test_ban_and_unban(user, admin_user_for_events):
    user_ban(user=user, reason="spam, and a free text the stream must not carry", by=None)
    user_unban(user=user, by=admin_user_for_events)
    banned, unbanned = outbox("user.banned"), outbox("user.unbanned")
    assert banned[0].data == {"until": None, "by": None}
    assert unbanned[0].data == {"by": str(admin_user_for_events.pk), "expired": False}


@pytest.fixture
def admin_user_for_events(make_user):
    return make_user(is_staff=True)


def test_data_must_match_the_registry(db):
    with pytest.raises(ValueError, match="exactly"):
        outbox_append("session.revoked", user_id="u", session_id="s", data={"why": "x"})
    with pytest.raises(ValueError, match="unknown"):
        outbox_append("session.teleported", user_id="u", data={})


def test_every_registered_type_has_a_source():
    assert {event_type for event_type, _ in RECORDED.values()} | {
        "session.created",
        "session.revoked",
    } == set(EVENT_TYPES)


def test_docs_list_exactly_the_registry():
    path = Path(settings.BASE_DIR) / "docs" / "events.md"
    assert path.read_text() == markdown(), "run: manage.py events_doc"


def test_nothing_is_written_when_events_are_off(settings, logged_in, client_factory, user):
    settings.AUTHSVC_EVENTS_ENABLED = False
    before = len(outbox())
    assert client_factory().login(user.email).status_code == 200
    assert len(outbox()) == before
