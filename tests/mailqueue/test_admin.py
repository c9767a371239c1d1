"""The queue in the admin: read-only, with what an operator needs to see, and "Retry now"
for those allowed to change queued mail."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from mailqueue.models import QueuedMail
from mailqueue.queue import mail_enqueue
from tests.accounts.conftest import staff, staff_client, staff_totp  # noqa: F401 - fixtures
from tests.accounts.mfa_helpers import admin_log_in, authenticator_for

pytestmark = [pytest.mark.django_db, pytest.mark.mail_queue]

QUEUE = "/admin/mailqueue/queuedmail/"


@pytest.fixture
def failed_row(note_kind, clock):
    row = mail_enqueue(
        note_kind, to="x@example.com", params={"to": "x@example.com", "subject": "s"}
    )
    QueuedMail.objects.filter(pk=row.pk).update(
        status="failed",
        attempts=20,
        last_error="ConnectionRefusedError: [Errno 111] Connection refused",
        finished_at=clock.now(),
    )
    return row


def test_the_list_shows_status_attempts_last_error_and_next_attempt(staff_client, failed_row):  # noqa: F811
    response = staff_client.get(QUEUE, {"status__exact": "failed"})

    assert response.status_code == 200
    assert [row.pk for row in response.context["cl"].result_list] == [failed_row.pk]
    page = response.content.decode()
    for text in ("x@example.com", "Failed", "20", "Connection refused", "Retry selected mail now"):
        assert text in page
    for column in ("status", "attempts", "next_attempt_at", "last_error"):
        assert f"column-{column}" in page
    # Read-only: no add, no edit, no delete.
    assert staff_client.get(f"{QUEUE}add/").status_code == 403
    detail = staff_client.get(f"{QUEUE}{failed_row.pk}/change/")
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content


def test_retry_now_puts_a_given_up_mail_back_in_the_queue(staff_client, failed_row, clock):  # noqa: F811
    response = staff_client.post(
        QUEUE, {"action": "retry_now", "_selected_action": [failed_row.pk]}
    )

    assert response.status_code == 302
    failed_row.refresh_from_db()
    assert (failed_row.status, failed_row.attempts) == ("pending", 0)
    assert failed_row.next_attempt_at == clock.now()
    assert failed_row.finished_at is None


def test_retry_needs_the_change_permission(make_user, failed_row):
    viewer = make_user(email="viewer@example.com", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_queuedmail"))
    client = Client()
    admin_log_in(client, viewer, authenticator_for(viewer))

    page = client.get(QUEUE)
    assert page.status_code == 200
    assert b"Retry selected mail now" not in page.content
    client.post(QUEUE, {"action": "retry_now", "_selected_action": [failed_row.pk]})
    failed_row.refresh_from_db()
    assert failed_row.status == "failed"
