"""The SMTP server down: mail is queued, not lost, retried with backoff, and delivered when
the server is back. A real SMTP server (aiosmtpd) of the test's own behind a TCP proxy the
test cuts (tests/faults.py); time moves by the injectable clock, never by sleeping."""

import logging
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from accounts.models import User
from mailqueue.delivery import mail_deliver_due
from mailqueue.models import QueuedMail
from tests.mailqueue.smtp_helpers import body_text

pytestmark = [pytest.mark.django_db, pytest.mark.mail_queue]


@pytest.fixture(autouse=True)
def _production_hand_over(settings):
    settings.AUTHSVC_MAIL_SEND_ON_COMMIT = False  # the worker sends, as in production
    settings.AUTHSVC_MAIL_BACKOFF_SECONDS = 30
    settings.AUTHSVC_MAIL_BACKOFF_MAX_SECONDS = 3600
    settings.AUTHSVC_MAIL_MAX_ATTEMPTS = 20


def _key(message) -> str:
    url = re.search(r"https?://\S+", body_text(message)).group(0)
    assert urlparse(url).path == "/email/verify/"
    return parse_qs(urlparse(url).query)["key"][0]


def test_a_registration_during_an_outage_gets_its_mail_when_the_server_is_back(
    api, smtp, clock, django_capture_on_commit_callbacks
):
    smtp.proxy.refuse()

    response = api.register(email="new@example.com", name="Newcomer")

    assert response.status_code == 201
    [row] = QueuedMail.objects.all()
    assert (row.kind, row.to, row.status, row.attempts) == (
        "verify_email",
        "new@example.com",
        "pending",
        0,
    )

    # The worker while the server is down: the row stays, with its attempt and next time.
    report = mail_deliver_due()

    assert (report.retried, report.sent, report.unreachable) == (1, 0, True)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in row.last_error
    first_wait = row.next_attempt_at - clock.now()
    assert timedelta(seconds=15) <= first_wait <= timedelta(seconds=30)
    # Not due yet: a second pass leaves it alone.
    assert mail_deliver_due().attempted == 0

    clock.advance(seconds=31)
    mail_deliver_due()

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 2)
    # The backoff doubles (less up to half of it, the jitter).
    assert timedelta(seconds=30) <= row.next_attempt_at - clock.now() <= timedelta(seconds=60)
    assert smtp.messages == []

    smtp.proxy.restore()
    clock.advance(seconds=61)
    report = mail_deliver_due()

    assert (report.sent, report.retried) == (1, 0)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.finished_at) == ("sent", 3, clock.now())
    [message] = smtp.messages
    assert smtp.recipients == ["new@example.com"]
    assert message["To"] == "new@example.com"
    assert message["Subject"] == "Confirm your email address for authsvc"
    assert "Hello Newcomer" in body_text(message)
    assert message.get_body(preferencelist=("html",)) is not None
    # The link, made when the mail was sent, works.
    verified = api.post_json("/auth/email/verify/", {"key": _key(message)})
    assert verified.status_code == 200
    assert User.objects.get(email="new@example.com").email_verified is True


def test_a_black_holed_server_costs_one_timeout_per_pass_not_one_per_mail(
    settings, smtp, note_kind
):
    from mailqueue.queue import mail_enqueue

    settings.EMAIL_TIMEOUT = 0.5
    for n in range(3):
        mail_enqueue(
            note_kind,
            to=f"u{n}@example.com",
            params={"to": f"u{n}@example.com", "subject": f"n{n}"},
        )
    smtp.proxy.blackhole()

    report = mail_deliver_due()

    assert (report.retried, report.unreachable) == (1, True)
    assert list(QueuedMail.objects.order_by("id").values_list("attempts", flat=True)) == [1, 0, 0]


def test_mail_is_given_up_after_the_last_attempt_and_says_so(
    settings, smtp, clock, note_kind, caplog
):
    from mailqueue.queue import mail_enqueue

    settings.AUTHSVC_MAIL_MAX_ATTEMPTS = 3
    row = mail_enqueue(
        note_kind, to="x@example.com", params={"to": "x@example.com", "subject": "s"}
    )
    smtp.proxy.refuse()

    with caplog.at_level(logging.WARNING, logger="authsvc.mail"):
        for _ in range(3):
            mail_deliver_due()
            clock.advance(hours=2)

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.finished_at is not None
    given_up = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(given_up) == 1
    assert f"mail {row.pk} (note) given up after 3 attempt(s)" in given_up[0].getMessage()
    # Given up is given up: the server's return changes nothing by itself.
    smtp.proxy.restore()
    assert mail_deliver_due().attempted == 0
    assert smtp.messages == []

    # Until an operator retries it: a fresh series of attempts, due now.
    from mailqueue.delivery import mail_retry

    assert mail_retry(ids=[row.pk]) == 1
    assert mail_deliver_due().sent == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 1)
    assert smtp.recipients == ["x@example.com"]


def test_an_address_refused_for_good_is_not_retried(smtp, note_kind):
    from mailqueue.queue import mail_enqueue

    smtp.refused.add("gone@example.com")
    row = mail_enqueue(
        note_kind, to="gone@example.com", params={"to": "gone@example.com", "subject": "s"}
    )
    other = mail_enqueue(
        note_kind, to="ok@example.com", params={"to": "ok@example.com", "subject": "s"}
    )

    report = mail_deliver_due()

    assert (report.failed, report.sent) == (1, 1)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 1)
    assert "550" in row.last_error
    other.refresh_from_db()
    assert other.status == "sent"
    assert smtp.recipients == ["ok@example.com"]
