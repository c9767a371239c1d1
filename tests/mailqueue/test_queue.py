"""The queue itself: a row in the caller's transaction (a rollback queues nothing), the
hand-over after the commit, what a row holds, the backoff, the purge and the checks."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction

from authsvc.logs import current_request_id
from mailqueue.delivery import backoff_seconds, mail_deliver_due
from mailqueue.models import QueuedMail
from mailqueue.queue import mail_enqueue

pytestmark = [pytest.mark.django_db, pytest.mark.mail_queue]


class Refused(Exception):
    pass


def test_a_rolled_back_change_queues_nothing(note_kind, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(Refused),
        transaction.atomic(),
    ):
        mail_enqueue(note_kind, to="a@example.com", params={"to": "a@example.com", "subject": "s"})
        raise Refused

    assert not QueuedMail.objects.exists()
    assert callbacks == []  # no hand-over either
    assert mail_deliver_due().attempted == 0
    assert mail.outbox == []


def test_a_registration_that_rolls_back_sends_no_verification(monkeypatch):
    from accounts.models import User
    from accounts.services import user_register
    from authsvc.http import ClientInfo

    def record(event, **kwargs):
        if event == "user_registered":
            raise Refused  # a failure after the mail was queued, in the same transaction

    monkeypatch.setattr("accounts.services.events.record", record)

    with pytest.raises(Refused):
        user_register(
            email="new@example.com",
            password="a long enough passphrase",
            name="",
            client=ClientInfo(ip="127.0.0.1", user_agent=""),
        )

    assert not User.objects.filter(email="new@example.com").exists()
    assert not QueuedMail.objects.exists()


def test_a_committed_row_is_sent_after_the_commit_when_sending_on_commit(
    settings, note_kind, django_capture_on_commit_callbacks
):
    settings.AUTHSVC_MAIL_SEND_ON_COMMIT = True  # `make run`: printed at once, no worker
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        row = mail_enqueue(
            note_kind, to="a@example.com", params={"to": "a@example.com", "subject": "hi"}
        )
        assert mail.outbox == []  # not before the commit

    assert [m.subject for m in mail.outbox] == ["hi"]
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 1)


def test_without_sending_on_commit_the_worker_is_woken_and_sends(
    settings, note_kind, django_capture_on_commit_callbacks
):
    settings.AUTHSVC_MAIL_SEND_ON_COMMIT = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        mail_enqueue(note_kind, to="a@example.com", params={"to": "a@example.com", "subject": "hi"})

    assert len(callbacks) == 1  # the NOTIFY
    assert mail.outbox == []
    assert mail_deliver_due().sent == 1
    assert [m.to for m in mail.outbox] == [["a@example.com"]]


def test_sending_on_commit_leaves_a_failure_to_the_worker(settings, note_kind, monkeypatch):
    settings.AUTHSVC_MAIL_SEND_ON_COMMIT = True

    def down(self, messages):
        raise ConnectionRefusedError("down")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", down)
    with transaction.atomic():  # a savepoint here: the hand-over runs at once
        from mailqueue import queue

        monkeypatch.setattr(queue, "after_commit", lambda callback: callback())
        row = mail_enqueue(
            note_kind, to="a@example.com", params={"to": "a@example.com", "subject": "s"}
        )

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at > row.created_at


def test_an_unknown_kind_is_refused_where_it_is_queued():
    with pytest.raises(ValueError, match="unknown mail kind 'nope'"):
        mail_enqueue("nope", to="a@example.com", params={})
    assert not QueuedMail.objects.exists()


def test_a_builder_that_fails_is_retried_then_given_up(settings, clock, monkeypatch):
    from mailqueue import registry

    def broken(params):
        raise KeyError("template variable")

    monkeypatch.setitem(registry._builders, "broken", broken)
    settings.AUTHSVC_MAIL_MAX_ATTEMPTS = 2
    row = mail_enqueue("broken", to="a@example.com", params={})

    assert mail_deliver_due().retried == 1
    clock.advance(hours=2)
    assert mail_deliver_due().failed == 1

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 2)
    assert row.last_error == "KeyError: 'template variable'"


def test_the_queued_mail_of_each_flow_holds_no_link(logged_in, user, api, monkeypatch):
    """Reset, verification and email change rows name what to build, never a token or a
    key: those are made when the mail is sent."""
    monkeypatch.setattr("mailqueue.queue.after_commit", lambda callback: None)  # no sending
    api.register(email="new@example.com")
    api.post_json("/auth/password/reset/", {"email": user.email})
    logged_in.post_json(
        "/auth/email/change/",
        {"new_email": "alice2@example.com", "password": "correct horse battery staple"},
    )

    rows = {row.kind: row for row in QueuedMail.objects.all()}
    assert set(rows) == {"verify_email", "password_reset", "email_change_confirm", "templated"}
    # "language": the one the mail is written in (the page's, else the default).
    assert set(rows["verify_email"].params) == {"user_id", "email", "language"}
    assert set(rows["password_reset"].params) == {"email", "ip", "user_agent", "language"}
    assert set(rows["email_change_confirm"].params) == {
        "user_id",
        "new_email",
        "session_id",
        "account",
        "language",
    }
    assert "link" not in rows["templated"].params["context"]
    assert "http" not in str([row.params for row in rows.values()])


def test_an_email_change_mail_is_not_sent_once_the_password_changed(logged_in, user, monkeypatch):
    from mailqueue.delivery import mail_deliver_rows

    monkeypatch.setattr("mailqueue.queue.after_commit", lambda callback: None)
    logged_in.post_json(
        "/auth/email/change/",
        {"new_email": "alice2@example.com", "password": "correct horse battery staple"},
    )
    user.set_password("another long passphrase")
    user.save()

    mail_deliver_rows(QueuedMail.objects.order_by("id").values_list("pk", flat=True))

    confirm = QueuedMail.objects.get(kind="email_change_confirm")
    assert confirm.status == "skipped"
    assert "changed since the request" in confirm.last_error
    # The notice to the old address still goes: it is what tells the owner.
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_the_backoff_doubles_up_to_the_cap_with_up_to_half_off(settings):
    settings.AUTHSVC_MAIL_BACKOFF_SECONDS = 30
    settings.AUTHSVC_MAIL_BACKOFF_MAX_SECONDS = 3600

    whole = [backoff_seconds(n, rand=lambda: 1.0) for n in range(1, 10)]
    half = [backoff_seconds(n, rand=lambda: 0.0) for n in range(1, 10)]

    assert whole == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert half == [w / 2 for w in whole]
    assert backoff_seconds(1000, rand=lambda: 1.0) == 3600  # no overflow far out


def test_purge_deletes_old_sent_skipped_and_given_up_mail_never_pending(settings, clock):
    settings.AUTHSVC_MAIL_RETENTION_HOURS = 168
    settings.AUTHSVC_MAIL_FAILED_RETENTION_DAYS = 30
    now = clock.now()

    def row(status, finished_ago, **kw):
        return QueuedMail.objects.create(
            kind="templated",
            to=f"{status}@example.com",
            status=status,
            created_at=now - timedelta(days=60),
            next_attempt_at=now - timedelta(days=60),
            finished_at=None if finished_ago is None else now - finished_ago,
            **kw,
        )

    gone = [
        row("sent", timedelta(hours=169)),
        row("skipped", timedelta(hours=169)),
        row("failed", timedelta(days=31)),
    ]
    kept = [
        row("sent", timedelta(hours=167)),
        row("failed", timedelta(days=29)),  # older than the sent retention: still kept
        row("pending", None),
    ]
    out = StringIO()

    call_command("purge_expired", stdout=out)

    assert set(QueuedMail.objects.values_list("pk", flat=True)) == {r.pk for r in kept}
    assert not QueuedMail.objects.filter(pk__in=[r.pk for r in gone]).exists()
    assert "3 old mail(s)" in out.getvalue()


def test_the_backlog_selector(clock, note_kind):
    from mailqueue.selectors import mail_backlog

    assert mail_backlog().pending == 0
    assert mail_backlog().oldest_pending_seconds == 0.0
    mail_enqueue(note_kind, to="a@example.com", params={"to": "a@example.com", "subject": "s"})
    clock.advance(seconds=90)

    backlog = mail_backlog()
    assert (backlog.pending, backlog.oldest_pending_seconds, backlog.failed) == (1, 90.0, 0)


def test_the_checks(settings):
    from mailqueue.checks import check_mail_backoff, check_mail_send_on_commit

    settings.AUTHSVC_MAIL_BACKOFF_SECONDS = 7200
    assert [e.id for e in check_mail_backoff(None)] == ["authsvc.E060"]
    settings.AUTHSVC_MAIL_BACKOFF_SECONDS = 30
    assert check_mail_backoff(None) == []

    settings.DEBUG = False
    settings.AUTHSVC_MAIL_SEND_ON_COMMIT = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert [w.id for w in check_mail_send_on_commit(None)] == ["authsvc.W060"]
    settings.AUTHSVC_MAIL_SEND_ON_COMMIT = False
    assert check_mail_send_on_commit(None) == []
    settings.AUTHSVC_MAIL_SEND_ON_COMMIT = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    assert check_mail_send_on_commit(None) == []


def test_a_worker_that_dies_mid_send_leaves_the_row_to_come_due_again(clock, note_kind):
    from mailqueue.delivery import CLAIM_SECONDS, _claim, mail_retry

    row = mail_enqueue(
        note_kind, to="a@example.com", params={"to": "a@example.com", "subject": "s"}
    )
    claimed = _claim(QueuedMail.objects.all())  # ...and the worker dies before marking it
    assert claimed.pk == row.pk

    # Being sent: nobody else takes it, not even through "Retry now".
    assert mail_deliver_due().attempted == 0
    assert mail_retry(ids=[row.pk]) == 0
    assert mail_deliver_due().attempted == 0

    clock.advance(seconds=CLAIM_SECONDS)
    assert mail_deliver_due().sent == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)  # the lost attempt counted
    assert [m.to for m in mail.outbox] == [["a@example.com"]]


def test_a_claim_that_expired_mid_send_is_not_marked_by_the_late_worker(clock, note_kind, caplog):
    from mailqueue.delivery import CLAIM_SECONDS, _attempt, _claim, _Sender

    row = mail_enqueue(
        note_kind, to="a@example.com", params={"to": "a@example.com", "subject": "s"}
    )
    slow = _claim(QueuedMail.objects.all())
    clock.advance(seconds=CLAIM_SECONDS)
    assert mail_deliver_due().sent == 1  # another worker took the expired claim

    _attempt(slow, _Sender())  # the slow worker finally gets through

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    assert "its claim expired before it was marked sent" in caplog.text


def test_the_workers_lines_about_a_mail_name_the_request_that_queued_it(api, user, caplog):
    """A password reset's mail is built and sent later, on the worker: its lines (the
    `password_reset_requested` event, "sent") carry the request's X-Request-ID."""
    response = api.post_json("/auth/password/reset/", {"email": user.email})
    assert response.status_code == 202
    request_id = response["X-Request-ID"]
    assert QueuedMail.objects.get().request_id == request_id

    with caplog.at_level("INFO"):
        assert mail_deliver_due().sent == 1

    about_it = [r for r in caplog.records if r.name.startswith(("authsvc", "mailqueue"))]
    assert about_it, "the worker wrote no line"
    assert {r.request_id for r in about_it} == {request_id}
    # And nothing after it inherits the id.
    assert current_request_id() is None
