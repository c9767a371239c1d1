"""Which admin reads may go to the read replica (authsvc/replica.py): the changelist pages,
never an action's queryset, which is acted on."""

import pytest
from django.db import DEFAULT_DB_ALIAS
from django.urls import reverse

from accounts.admin import users as admin_users
from authsvc import replica as replica_module
from sessions_store.models import Session

pytestmark = pytest.mark.django_db


@pytest.fixture
def replica_asks(monkeypatch):
    """Each read that asked for the replica (the suite has none: it answers the primary)."""
    asked = []

    def recording():
        asked.append(True)
        return DEFAULT_DB_ALIAS

    monkeypatch.setattr(replica_module, "replica", recording)
    monkeypatch.setattr(admin_users, "replica", recording)
    return asked


@pytest.mark.parametrize(
    "changelist",
    [
        "admin:accounts_user_changelist",
        "admin:sessions_store_session_changelist",
        "admin:audit_authevent_changelist",
        "admin:tokens_refreshtoken_changelist",
    ],
)
def test_changelist_pages_read_the_replica(staff_client, replica_asks, changelist):
    assert staff_client.get(reverse(changelist)).status_code == 200
    assert replica_asks


def test_an_action_reads_and_writes_the_primary(staff_client, replica_asks, logged_in, user):
    response = staff_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "revoke_all_sessions", "_selected_action": [str(user.pk)]},
    )

    assert response.status_code == 302
    assert not Session.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert not replica_asks


def test_the_user_page_shows_sessions_and_events_from_the_replica(
    staff_client, replica_asks, logged_in, user
):
    page = staff_client.get(reverse("admin:accounts_user_change", args=[user.pk]))

    assert page.status_code == 200
    assert len(replica_asks) == 2  # the sessions table and the recent events
