"""Workers on committed rows (each on its own connection): two never send the same mail, the
loop wakes on the web process's NOTIFY, and the command exits cleanly on SIGTERM."""

import os
import signal
import subprocess
import sys
import threading

import pytest

from mailqueue.delivery import mail_deliver_due
from mailqueue.models import QueuedMail
from mailqueue.queue import mail_enqueue
from mailqueue.worker import MailWorker
from tests.audit.relay_helpers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mail_queue]


@pytest.fixture(autouse=True)
def _production_hand_over(settings):
    settings.AUTHSVC_MAIL_SEND_ON_COMMIT = False


def _notes(kind: str, count: int) -> list[str]:
    addresses = [f"user{n}@example.com" for n in range(count)]
    for address in addresses:
        mail_enqueue(kind, to=address, params={"to": address, "subject": address})
    return addresses


def test_two_workers_never_send_the_same_mail(smtp, note_kind):
    addresses = _notes(note_kind, 5)
    smtp.hold_next()  # the server takes the first message and holds it there
    reports = {}

    def worker_a():
        from django.db import connection

        try:
            reports["a"] = mail_deliver_due()
        finally:
            connection.close()

    a = threading.Thread(target=worker_a)
    a.start()
    try:
        # A holds the first row (locked, mid-delivery) while B runs a whole pass.
        assert smtp.held.wait(10)
        reports["b"] = mail_deliver_due()
    finally:
        smtp.release()
        a.join(10)
    assert not a.is_alive()

    # B skipped the locked row and sent the others; A sent its row and found nothing else.
    assert (reports["a"].sent, reports["b"].sent) == (1, 4)
    assert sorted(smtp.recipients) == addresses
    assert set(QueuedMail.objects.values_list("status", flat=True)) == {"sent"}
    assert list(QueuedMail.objects.values_list("attempts", flat=True)) == [1] * 5


def test_the_worker_wakes_on_the_commit_that_queued_mail(settings, smtp, note_kind):
    settings.AUTHSVC_MAIL_POLL_MS = 60_000  # so only the NOTIFY can explain a delivery
    worker = MailWorker()
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: worker.listening, 10)
        [address] = _notes(note_kind, 1)  # autocommit: the NOTIFY follows the INSERT
        assert wait_for(lambda: smtp.recipients == [address], 10, step=0.05)
    finally:
        worker.stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert QueuedMail.objects.get().status == "sent"


def test_send_queued_mail_sends_and_exits_cleanly_on_sigterm(settings, smtp):
    """The command as compose runs it, on the test database, against the SMTP server."""
    from accounts.mail import send_templated_mail

    send_templated_mail(
        template="email_change_notice",
        to="old@example.com",
        context={
            "name": "Al",
            "old_email": "old@example.com",
            "new_email": "n@example.com",
            "valid_hours": 24,
        },
    )
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(settings.EMAIL_PORT),
        "DEFAULT_FROM_EMAIL": "authsvc <no-reply@example.com>",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "send_queued_mail"],
        cwd=settings.BASE_DIR,
        env=env,
        # The log lines (JSON, authsvc/logs.py) go to stdout with everything else.
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_for(lambda: smtp.recipients == ["old@example.com"], 20, step=0.05)
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0
    assert "mail worker stopped" in output
    [message] = smtp.messages
    assert message["From"] == "authsvc <no-reply@example.com>"
    assert "from old@example.com to n@example.com" in message.get_body(
        preferencelist=("plain",)
    ).get_content().replace("\n", " ")
    assert QueuedMail.objects.get().status == "sent"


def test_send_queued_mail_once_reports_and_retries_failed(smtp, note_kind):
    from io import StringIO

    from django.core.management import call_command

    [address] = _notes(note_kind, 1)
    QueuedMail.objects.update(status="failed", attempts=20)
    out = StringIO()

    call_command("send_queued_mail", "--once", stdout=out)
    assert out.getvalue() == "Sent 0, skipped 0, to retry 0, given up 0.\n"

    call_command("send_queued_mail", "--once", "--retry-failed", stdout=out)
    assert out.getvalue().splitlines()[1:] == [
        "Queued 1 given-up mail(s) again.",
        "Sent 1, skipped 0, to retry 0, given up 0.",
    ]
    assert smtp.recipients == [address]


def test_the_worker_carries_on_after_a_database_error(settings, monkeypatch, caplog):
    from django.db import OperationalError

    from mailqueue import worker as worker_module

    settings.AUTHSVC_MAIL_POLL_MS = 10
    worker = MailWorker()
    passes = []

    def flaky(**kwargs):
        passes.append(1)
        if len(passes) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        worker.stop.set()
        return mail_deliver_due(**kwargs)

    monkeypatch.setattr(worker_module, "mail_deliver_due", flaky)

    worker.run()

    assert len(passes) == 2
    assert "mail worker: database unavailable (server closed the connection" in caplog.text
    assert "mail worker: database back after 1 failure(s)" in caplog.text
