import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import mail

from accounts.models import User
from sessions_store.models import Session
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a completely new passphrase"
ACCEPTED = {
    "detail": "If an account uses this address, a reset link is on its way.",
}


def request_reset(client, email, **extra):
    return client.post_json("/auth/password/reset/", {"email": email}, **extra)


def link_params(message) -> dict:
    url = re.search(r"https?://\S+", message.body).group(0)
    parsed = urlparse(url)
    assert parsed.path == "/password/reset/confirm/"
    return {key: values[0] for key, values in parse_qs(parsed.query).items()}


def confirm(client, params, password=NEW_PASSWORD):
    return client.post_json("/auth/password/reset/confirm/", {**params, "new_password": password})


def test_reset_sends_a_working_link(api, user, client_factory):
    session_client = client_factory()
    session_client.login(user.email)

    response = request_reset(api, "ALICE@example.com")

    assert response.status_code == 202
    assert response.json() == ACCEPTED
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert "Reset your authsvc password" in message.subject
    assert message.alternatives[0][1] == "text/html"
    assert link_params(message)["uid"] in message.alternatives[0][0]
    params = link_params(message)

    response = confirm(api, params)

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert user.email_verified is True
    # Every session dies, the access token at once.
    assert not Session.objects.filter(revoked_at__isnull=True).exists()
    assert session_client.get("/auth/self/").status_code == 401
    assert client_factory().login(user.email, NEW_PASSWORD).status_code == 200


def test_unknown_email_gets_the_same_answer_and_no_mail(api, user):
    known = request_reset(api, user.email)
    unknown = request_reset(api, "nobody@example.com")

    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json() == ACCEPTED
    assert len(mail.outbox) == 1


def test_reset_link_works_once(api, user):
    request_reset(api, user.email)
    params = link_params(mail.outbox[0])
    assert confirm(api, params).status_code == 200

    response = confirm(api, params, password="yet another passphrase")

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_token",
        "detail": "The token is invalid, expired or revoked.",
    }
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)


def test_reset_link_expires(api, user, clock):
    request_reset(api, user.email)
    params = link_params(mail.outbox[0])
    clock.advance(hours=1, seconds=1)

    assert confirm(api, params).json()["error"] == "invalid_token"
    assert User.objects.get(pk=user.pk).check_password(DEFAULT_PASSWORD)


@pytest.mark.parametrize(
    "params",
    [
        {"uid": "garbage", "token": "garbage"},
        {"uid": "", "token": "x"},
        {"uid": "AAAAAAAAAAAAAAAAAAAAAA", "token": "abc-def"},
    ],
)
def test_bad_reset_links(api, user, params):
    response = confirm(api, params)

    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_token", "invalid_request"}


def test_another_users_token_does_not_work(api, user, make_user):
    other = make_user(email="bob@example.com")
    request_reset(api, user.email)
    params = link_params(mail.outbox[0])
    from accounts.passwords import reset_uid

    response = confirm(api, {**params, "uid": reset_uid(other)})

    assert response.json()["error"] == "invalid_token"


def test_new_password_is_validated(api, user):
    request_reset(api, user.email)

    response = confirm(api, link_params(mail.outbox[0]), password="short")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["new_password"]
    # The link still works after a refused password.
    assert confirm(api, link_params(mail.outbox[0])).status_code == 200


def test_reset_is_rate_limited_per_email(client_factory, user):
    answers = [
        request_reset(client_factory(REMOTE_ADDR=f"10.0.0.{n}"), user.email) for n in range(4)
    ]

    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert answers[-1].json()["error"] == "rate_limited"
    assert 0 < int(answers[-1]["Retry-After"]) <= 3600
    assert len(mail.outbox) == 3


def test_reset_is_rate_limited_per_ip(api, user):
    answers = [request_reset(api, f"someone{n}@example.com") for n in range(11)]

    assert [a.status_code for a in answers].count(429) == 1
    assert answers[-1].status_code == 429


def test_reset_needs_csrf(api, user):
    assert request_reset(api, user.email, no_csrf=True).status_code == 403
    assert mail.outbox == []


def _request_path(
    client, email, capture_on_commit, *, send=request_reset, accepted=ACCEPTED
) -> tuple[list[str], list[str]]:
    """What answering a reset request (or another `send`) did, its after-commit work
    included: the templates it rendered, and its SQL (the statement's start, without the
    values)."""
    from django.db import connection
    from django.test.signals import template_rendered
    from django.test.utils import CaptureQueriesContext

    rendered = []

    def on_render(sender, template, **kwargs):
        rendered.append(template.name)

    template_rendered.connect(on_render)
    try:
        with (
            CaptureQueriesContext(connection) as queries,
            capture_on_commit(execute=True),
        ):
            response = send(client, email)
    finally:
        template_rendered.disconnect(on_render)
    assert response.status_code == 202
    assert response.json() == accepted
    return rendered, [query["sql"].split(" VALUES ")[0][:60] for query in queries]


@pytest.mark.mail_queue
def test_the_request_path_does_the_same_work_for_known_and_unknown_addresses(
    client_factory, user, settings, django_capture_on_commit_callbacks
):
    # Rendering the mail on the request path made a known address ~2 ms slower than an
    # unknown one: enough to enumerate accounts by timing. Now both only queue a row.
    settings.AUTHSVC_MAIL_SEND_ON_COMMIT = False  # as in production: the worker sends
    from audit.models import AuthEvent
    from mailqueue.delivery import mail_deliver_due
    from mailqueue.models import QueuedMail

    capture = django_capture_on_commit_callbacks
    known_rendered, known_sql = _request_path(client_factory(), user.email, capture)
    unknown_rendered, unknown_sql = _request_path(client_factory(), "nobody@example.com", capture)

    assert known_rendered == unknown_rendered == []
    # The same statements: the INSERT of the queued mail, then the worker's wake-up.
    assert known_sql == unknown_sql
    assert known_sql[0].startswith('INSERT INTO "mailqueue_queuedmail"')
    assert known_sql[1].startswith("SELECT pg_notify")
    assert len(known_sql) == 2
    assert mail.outbox == []
    known, unknown = QueuedMail.objects.order_by("id")
    assert (known.kind, known.to, set(known.params)) == (
        "password_reset",
        user.email,
        {"email", "ip", "user_agent", "language"},
    )
    assert (unknown.kind, unknown.to, set(unknown.params)) == (
        "password_reset",
        "nobody@example.com",
        {"email", "ip", "user_agent", "language"},
    )
    # Nothing secret waits in the queue: the link is made when the mail is built.
    assert "token" not in str(known.params)

    # The worker then does the per-account part: a mail for the account, none otherwise.
    with capture(execute=True):  # the audit rows are written when the worker commits
        report = mail_deliver_due()

    assert (report.sent, report.skipped) == (1, 1)
    assert [message.to for message in mail.outbox] == [[user.email]]
    assert link_params(mail.outbox[0])["uid"]
    known.refresh_from_db()
    unknown.refresh_from_db()
    assert (known.status, unknown.status) == ("sent", "skipped")
    assert unknown.last_error == "no active account has this address"
    requested = AuthEvent.objects.filter(type="password_reset_requested").order_by("id")
    assert [e.details["known"] for e in requested] == [True, False]
    assert requested[0].user_id == user.pk


def test_a_failing_mail_server_is_not_the_users_error(api, user, monkeypatch):
    from mailqueue.models import QueuedMail

    def refuse(self, messages):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)

    assert request_reset(api, user.email).json() == ACCEPTED
    # Not sent, not lost: queued for the worker's next attempt.
    [row] = QueuedMail.objects.all()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "ConnectionRefusedError: mail server down"
    assert row.next_attempt_at > row.created_at
    assert mail.outbox == []
