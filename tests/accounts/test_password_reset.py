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
    assert parsed.path == "/reset-password"
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


@pytest.fixture
def background(settings, monkeypatch):
    """AUTHSVC_EMAIL_ASYNC on, with the queued jobs kept here instead of run by the worker."""
    from accounts import mail as mail_module

    settings.AUTHSVC_EMAIL_ASYNC = True
    jobs = []

    class Queue:
        def put_nowait(self, item):
            jobs.append(item)

    monkeypatch.setattr(mail_module, "_jobs", Queue())
    monkeypatch.setattr(mail_module, "_worker_start", lambda: None)
    return jobs


def _request_path(api, email, django_assert_num_queries) -> tuple[list, int]:
    """What answering a reset request did: the templates it rendered, the queries it ran."""
    from django.test.signals import template_rendered

    rendered = []

    def on_render(sender, template, **kwargs):
        rendered.append(template.name)

    template_rendered.connect(on_render)
    try:
        with django_assert_num_queries(0):
            response = request_reset(api, email)
    finally:
        template_rendered.disconnect(on_render)
    assert response.status_code == 202
    assert response.json() == ACCEPTED
    return rendered


def test_the_request_path_does_the_same_work_for_known_and_unknown_addresses(
    client_factory, user, background, django_assert_num_queries
):
    # Rendering the mail on the request path made a known address ~2 ms slower than an
    # unknown one: enough to enumerate accounts by timing.
    known_rendered = _request_path(client_factory(), user.email, django_assert_num_queries)
    unknown_rendered = _request_path(
        client_factory(), "nobody@example.com", django_assert_num_queries
    )

    assert known_rendered == unknown_rendered == []
    assert len(mail.outbox) == 0
    # One job each, the same function with the same arguments but the address.
    (known_job, known_kwargs), (unknown_job, unknown_kwargs) = background
    assert known_job is unknown_job
    assert set(known_kwargs) == set(unknown_kwargs) == {"email", "client"}
    assert (known_kwargs["email"], unknown_kwargs["email"]) == (user.email, "nobody@example.com")

    # The worker then does the per-account part: a mail for the account, none otherwise.
    for job, kwargs in background:
        job(**kwargs)
    assert [message.to for message in mail.outbox] == [[user.email]]
    assert link_params(mail.outbox[0])["uid"]


def test_a_failing_mail_server_is_not_the_users_error(api, user, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)

    assert request_reset(api, user.email).json() == ACCEPTED


def test_background_jobs_run_on_the_mail_worker(settings):
    import threading

    from accounts.mail import run_in_background

    settings.AUTHSVC_EMAIL_ASYNC = True
    ran = threading.Event()
    where = []

    def job(*, marker):
        where.append((marker, threading.current_thread().name))
        ran.set()

    run_in_background(job, marker="x")

    assert ran.wait(timeout=10)
    assert where == [("x", "authsvc-mail")]
