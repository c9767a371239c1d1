"""Sign-in codes by email: POST /auth/login/code/ and /auth/login/code/confirm/."""

import re
import threading

import jwt
import pytest
from django.core import mail
from django.db import connection, connections

from accounts.login_codes import CODE_MAX_ATTEMPTS, code_digest
from accounts.models import LoginCode, User
from audit.models import AuthEvent
from mailqueue.models import QueuedMail
from sessions_store.models import Session
from tests.accounts.mfa_helpers import authenticator_for, verify
from tests.accounts.webauthn_helpers import SoftAuthenticator, register_passkey
from tests.conftest import AuthClient
from tests.tokens.conftest import assert_error

pytestmark = pytest.mark.django_db

ACCEPTED = {"detail": "If an account uses this address, a sign-in code is on its way."}


def request_code(client, email, **extra):
    return client.post_json("/auth/login/code/", {"email": email}, **extra)


def confirm(client, email, code, **extra):
    return client.post_json("/auth/login/code/confirm/", {"email": email, "code": code}, **extra)


def code_in(message) -> str:
    """The code as the mail shows it ("123 456"), without the space."""
    match = re.search(r"^\s+(\d{3}) (\d{3})$", message.body, re.MULTILINE)
    assert match, message.body
    return match.group(1) + match.group(2)


def mailed_code(client, email) -> str:
    before = len(mail.outbox)
    assert request_code(client, email).status_code == 202
    assert len(mail.outbox) == before + 1
    return code_in(mail.outbox[-1])


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def claims_of(client) -> dict:
    return jwt.decode(client.cookie("access_token"), options={"verify_signature": False})


def test_a_mailed_code_signs_in(api, user):
    response = request_code(api, "  ALICE@example.com ")

    assert response.status_code == 202
    assert response.json() == ACCEPTED
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "Your authsvc sign-in code"
    assert "within 10 minutes" in message.body
    code = code_in(message)
    assert f"{code[:3]} {code[3:]}" in message.alternatives[0][0]

    response = confirm(api, "Alice@Example.com", code)

    assert response.status_code == 200
    assert response.json() == {"id": str(user.pk)}
    assert response["Cache-Control"] == "no-store"
    claims = claims_of(api)
    assert claims["sub"] == str(user.pk)
    assert claims["amr"] == ["email"]
    assert Session.objects.get(pk=claims["sid"]).amr == ["email"]
    assert api.get("/auth/self/").json()["email"] == user.email
    # Single use: the row is gone.
    assert not LoginCode.objects.exists()


def test_the_code_may_be_typed_as_the_mail_shows_it(api, user):
    code = mailed_code(api, user.email)

    assert confirm(api, user.email, f" {code[:3]} {code[3:]} ").status_code == 200


def test_unknown_and_disabled_addresses_get_the_same_answer_and_no_mail(api, user, make_user):
    disabled = make_user(email="gone@example.com", is_active=False)
    known = request_code(api, user.email)
    unknown = request_code(api, "nobody@example.com")
    refused = request_code(api, disabled.email)

    for response in (unknown, refused):
        assert response.status_code == known.status_code == 202
        assert response.json() == known.json() == ACCEPTED
        assert sorted(response.headers) == sorted(known.headers)
    assert [message.to for message in mail.outbox] == [[user.email]]
    # A code exists only for the account that got it; none for a stranger's address.
    assert list(LoginCode.objects.values_list("user_id", flat=True)) == [user.pk]
    skipped = QueuedMail.objects.filter(status=QueuedMail.Status.SKIPPED)
    assert sorted(skipped.values_list("to", flat=True)) == [disabled.email, "nobody@example.com"]


def test_an_unknown_address_gets_the_same_refusal(api, user):
    mailed_code(api, user.email)

    assert_error(confirm(api, "nobody@example.com", "123456"), 401, "invalid_code")
    assert_error(confirm(api, user.email, "12345a"), 401, "invalid_code")


def test_a_login_code_creates_no_account(api):
    request_code(api, "newcomer@example.com")

    assert not User.objects.filter(email="newcomer@example.com").exists()
    assert_error(confirm(api, "newcomer@example.com", "000000"), 401, "invalid_code")
    assert not User.objects.filter(email="newcomer@example.com").exists()


def test_a_wrong_code_is_refused_and_counted(api, user):
    code = mailed_code(api, user.email)

    response = confirm(api, user.email, wrong(code))

    assert_error(response, 401, "invalid_code")
    assert api.cookie("access_token") is None
    assert LoginCode.objects.get().attempts == 1
    # The right one still works afterwards.
    assert confirm(api, user.email, code).status_code == 200


def test_five_tries_then_even_the_right_code_is_refused(api, user):
    code = mailed_code(api, user.email)
    for _ in range(CODE_MAX_ATTEMPTS):
        assert_error(confirm(api, user.email, wrong(code)), 401, "invalid_code")

    assert_error(confirm(api, user.email, code), 401, "invalid_code")
    assert api.cookie("access_token") is None


def test_the_fifth_try_may_be_the_right_one(api, user):
    code = mailed_code(api, user.email)
    for _ in range(CODE_MAX_ATTEMPTS - 1):
        confirm(api, user.email, wrong(code))

    assert confirm(api, user.email, code).status_code == 200


def test_a_code_expires_after_ten_minutes(api, user, clock):
    code = mailed_code(api, user.email)
    clock.advance(minutes=9, seconds=59)
    other = mailed_code(AuthClient(), user.email)
    clock.advance(minutes=10)

    assert_error(confirm(api, user.email, other), 401, "invalid_code")
    assert_error(confirm(api, user.email, code), 401, "invalid_code")


def test_a_code_works_until_its_tenth_minute(api, user, clock):
    code = mailed_code(api, user.email)
    clock.advance(minutes=9, seconds=59)

    assert confirm(api, user.email, code).status_code == 200


def test_a_code_works_once(api, user, client_factory):
    code = mailed_code(api, user.email)
    assert confirm(api, user.email, code).status_code == 200

    assert_error(confirm(client_factory(), user.email, code), 401, "invalid_code")


def test_a_new_code_replaces_the_old_one(api, user):
    first = mailed_code(api, user.email)
    second = mailed_code(api, user.email)
    if first == second:  # one chance in a million: draw again
        second = mailed_code(api, user.email)

    assert_error(confirm(api, user.email, first), 401, "invalid_code")
    assert confirm(api, user.email, second).status_code == 200


def test_the_code_is_hashed_at_rest_with_a_server_key(api, user, settings):
    code = mailed_code(api, user.email)
    row = LoginCode.objects.get()
    stored = " ".join(str(value) for value in LoginCode.objects.values().get().values())

    assert code not in stored
    assert row.code_digest == code_digest(user_id=user.pk, code=code)
    # Keyed by the server's secret: the table alone does not tell which code it is.
    settings.SECRET_KEY = "another secret key " * 3
    assert row.code_digest != code_digest(user_id=user.pk, code=code)
    # Nor does the mail queue's row hold it.
    assert code not in str(QueuedMail.objects.values().get())


def test_audit_events_never_hold_the_code(api, user, caplog, committed):
    caplog.set_level("INFO", logger="authsvc.events")
    with committed():
        code = mailed_code(api, user.email)
        request_code(AuthClient(), "nobody@example.com")
        confirm(api, user.email, wrong(code))
        confirm(api, "nobody@example.com", code)
        confirm(api, user.email, code)

    lines = [record.fields for record in caplog.records if record.name == "authsvc.events"]
    assert [(line["event"], line.get("reason")) for line in lines] == [
        ("login_code_requested", None),
        ("login_code_requested", None),
        ("login_code_failed", "wrong_code"),
        ("login_code_failed", "no_live_code"),
        ("login_succeeded", None),
    ]
    assert lines[0]["known"] is True and lines[0]["user_id"] == str(user.pk)
    assert lines[1]["known"] is False and lines[1]["user_id"] is None
    assert lines[4]["method"] == "email_code" and lines[4]["amr"] == ["email"]
    rows = list(AuthEvent.objects.values_list("type", "details"))
    assert sorted(kind for kind, _ in rows) == sorted(line["event"] for line in lines)
    for text in (str(lines), str(rows)):
        assert code not in text
        assert f"{code[:3]} {code[3:]}" not in text


def test_the_address_is_verified_by_a_code_login(api, make_user, settings):
    settings.AUTHSVC_LOGIN_REQUIRES_VERIFIED_EMAIL = True
    unverified = make_user(email="new@example.com", email_verified=False)

    assert confirm(api, unverified.email, mailed_code(api, unverified.email)).status_code == 200
    unverified.refresh_from_db()
    assert unverified.email_verified is True


def test_a_disabled_account_is_refused_after_a_right_code(api, user):
    code = mailed_code(api, user.email)
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert_error(confirm(api, user.email, code), 403, "account_disabled")
    assert api.cookie("access_token") is None
    # The code is spent all the same.
    assert not LoginCode.objects.exists()


def test_an_account_with_2fa_gets_the_challenge_then_signs_in_with_totp(api, user, clock):
    totp = authenticator_for(user)
    code = mailed_code(api, user.email)

    response = confirm(api, user.email, code)

    assert response.status_code == 200
    assert response.json() == {"mfa_required": True, "methods": ["totp", "backup_code"]}
    assert api.cookie("access_token") is None
    assert api.cookie("mfa_challenge")

    response = verify(api, totp.at(clock.now()))

    assert response.status_code == 200
    assert response.json() == {"id": str(user.pk)}
    assert claims_of(api)["amr"] == ["email", "otp"]


def test_an_account_with_a_passkey_gets_the_challenge_then_signs_in_with_it(
    client_factory, user
):
    key = SoftAuthenticator()
    owner = client_factory()
    assert owner.login(user.email).status_code == 200
    register_passkey(owner, key)
    api = client_factory()
    code = mailed_code(api, user.email)

    response = confirm(api, user.email, code)

    assert response.status_code == 200
    assert response.json() == {"mfa_required": True, "methods": ["passkey"]}
    assert api.cookie("access_token") is None
    options = api.post_json("/auth/2fa/passkey/options/").json()
    response = api.post_json("/auth/2fa/passkey/", {"credential": key.assertion(options)})
    assert response.status_code == 200, response.content
    assert claims_of(api)["amr"] == ["email", "hwk", "mfa"]


def test_csrf_is_required(api, user):
    assert_error(request_code(api, user.email, no_csrf=True), 403, "csrf_failed")
    assert mail.outbox == []
    code = mailed_code(api, user.email)
    assert_error(confirm(api, user.email, code, no_csrf=True), 403, "csrf_failed")
    assert LoginCode.objects.get().attempts == 0


def test_requests_are_limited_per_address(client_factory, user):
    answers = [
        request_code(client_factory(REMOTE_ADDR=f"10.0.0.{n}"), "nobody@example.com")
        for n in range(6)
    ]

    assert [a.status_code for a in answers] == [202] * 5 + [429]
    assert_error(answers[-1], 429, "rate_limited")
    assert 0 < int(answers[-1]["Retry-After"]) <= 3600


def test_requests_are_limited_per_ip(api, user):
    answers = [request_code(api, f"someone{n}@example.com") for n in range(11)]

    assert [a.status_code for a in answers] == [202] * 10 + [429]
    assert 0 < int(answers[-1]["Retry-After"]) <= 3600


def test_failed_codes_are_limited_per_ip(api, make_user):
    emails = [make_user().email for _ in range(11)]
    answers = [confirm(api, email, "000000") for email in emails]

    assert [a.status_code for a in answers] == [401] * 10 + [429]
    assert 0 < int(answers[-1]["Retry-After"]) <= 60


def test_failed_codes_are_limited_per_address_across_codes_and_ips(client_factory, user):
    statuses = []
    for n in range(21):
        client = client_factory(REMOTE_ADDR=f"10.0.1.{n}")
        if n % 5 == 0:
            client_factory(REMOTE_ADDR=f"10.0.2.{n}").post_json(
                "/auth/login/code/", {"email": user.email}
            )
        statuses.append(confirm(client, user.email, "abcdef").status_code)

    assert statuses == [401] * 20 + [429]
    # Then even the right code waits: guessing across codes is bounded per address.
    code = code_in(mail.outbox[-1])
    response = confirm(client_factory(REMOTE_ADDR="10.0.3.1"), user.email, code)
    assert_error(response, 429, "rate_limited")
    assert 0 < int(response["Retry-After"]) <= 24 * 3600


def test_good_codes_are_not_counted_against_the_ip(api, make_user, settings):
    settings.AUTHSVC_RATE_LIMITS = {
        **settings.AUTHSVC_RATE_LIMITS,
        "login_code_failed_ip": "2/m",
        "login_code_ip": "100/h",
    }
    for _ in range(3):
        person = make_user()
        code = mailed_code(api, person.email)
        assert confirm(AuthClient(), person.email, code).status_code == 200


def test_codes_can_be_turned_off(api, user, settings):
    settings.AUTHSVC_LOGIN_CODES_ENABLED = False

    assert_error(request_code(api, user.email), 404, "not_configured")
    assert_error(confirm(api, user.email, "123456"), 404, "not_configured")
    assert mail.outbox == []


def test_a_code_queued_before_codes_were_turned_off_is_not_sent(api, user, settings):
    from mailqueue.delivery import mail_deliver_due

    settings.AUTHSVC_MAIL_SEND_ON_COMMIT = False
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("mailqueue.queue.after_commit", lambda callback: None)
        assert request_code(api, user.email).status_code == 202
    settings.AUTHSVC_LOGIN_CODES_ENABLED = False

    assert mail_deliver_due().skipped == 1
    assert mail.outbox == []
    assert not LoginCode.objects.exists()


def test_the_code_is_drawn_when_the_mail_is_built_not_when_it_is_queued(api, user, settings, clock):
    from mailqueue.delivery import mail_deliver_due

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("mailqueue.queue.after_commit", lambda callback: None)
        assert request_code(api, user.email).status_code == 202
    assert not LoginCode.objects.exists()
    # An SMTP outage held the mail: its 10 minutes start when it goes.
    clock.advance(minutes=30)
    assert mail_deliver_due().sent == 1

    assert confirm(api, user.email, code_in(mail.outbox[0])).status_code == 200


def test_purge_deletes_expired_codes(api, user, make_user, clock):
    from django.core.management import call_command

    mailed_code(api, user.email)
    clock.advance(minutes=11)
    fresh = make_user()
    mailed_code(AuthClient(), fresh.email)

    call_command("purge_expired", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert list(LoginCode.objects.values_list("user_id", flat=True)) == [fresh.pk]


def _confirm_sql(client, email, code) -> list[str]:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = confirm(client, email, code)
    assert_error(response, 401, "invalid_code")
    # Savepoint names count up; the statements are what matters.
    return [
        re.sub(r'"s\d+_x\d+"', '"sp"', query["sql"].split(" VALUES ")[0][:60]) for query in queries
    ]


def test_a_wrong_code_and_an_unknown_address_take_the_same_path(client_factory, user):
    code = mailed_code(client_factory(), user.email)

    known = _confirm_sql(client_factory(), user.email, wrong(code))
    unknown = _confirm_sql(client_factory(), "nobody@example.com", wrong(code))
    no_code = _confirm_sql(client_factory(), user.email.replace("alice", "bob"), code)

    assert known == unknown == no_code
    assert any(sql.startswith('UPDATE "accounts_logincode"') for sql in known)


@pytest.mark.mail_queue
def test_the_request_path_does_the_same_work_for_known_and_unknown_addresses(
    client_factory, user, settings, django_capture_on_commit_callbacks
):
    from tests.accounts.test_password_reset import _request_path

    settings.AUTHSVC_MAIL_SEND_ON_COMMIT = False  # as in production: the worker sends

    def path(email):
        return _request_path(
            client_factory(),
            email,
            django_capture_on_commit_callbacks,
            send=lambda client, address: request_code(client, address),
            accepted=ACCEPTED,
        )

    known_rendered, known_sql = path(user.email)
    unknown_rendered, unknown_sql = path("nobody@example.com")

    assert known_rendered == unknown_rendered == []
    assert known_sql == unknown_sql
    assert known_sql[0].startswith('INSERT INTO "mailqueue_queuedmail"')
    assert known_sql[1].startswith("SELECT pg_notify")
    assert len(known_sql) == 2
    assert not LoginCode.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_racing_confirmations_of_one_code_sign_in_once(make_user):
    person = make_user(email="raced-code@example.com")
    code = mailed_code(AuthClient(), person.email)
    parallel = 8
    barrier = threading.Barrier(parallel)
    statuses = []

    def run():
        barrier.wait()
        try:
            statuses.append(confirm(AuthClient(), person.email, code).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [200] + [401] * (parallel - 1), statuses
    assert Session.objects.filter(user=person).count() == 1


@pytest.mark.django_db(transaction=True)
def test_racing_wrong_codes_cannot_exceed_five_tries(make_user, settings):
    settings.AUTHSVC_RATE_LIMITS = {
        **settings.AUTHSVC_RATE_LIMITS,
        "login_code_failed_ip": "1000/m",
        "login_code_failed_email": "1000/d",
    }
    person = make_user(email="raced-guess@example.com")
    code = mailed_code(AuthClient(), person.email)
    parallel = 10
    barrier = threading.Barrier(parallel)

    def run():
        barrier.wait()
        try:
            confirm(AuthClient(), person.email, wrong(code))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert LoginCode.objects.get().attempts == CODE_MAX_ATTEMPTS
    assert_error(confirm(AuthClient(), person.email, code), 401, "invalid_code")


@pytest.mark.parametrize(
    ("backend", "debug", "enabled", "warned"),
    [
        ("django.core.mail.backends.console.EmailBackend", False, True, True),
        ("django.core.mail.backends.filebased.EmailBackend", False, True, True),
        ("django.core.mail.backends.smtp.EmailBackend", False, True, False),
        ("django.core.mail.backends.console.EmailBackend", True, True, False),
        ("django.core.mail.backends.console.EmailBackend", False, False, False),
    ],
)
def test_the_check_warns_of_codes_that_never_leave_the_process(
    settings, backend, debug, enabled, warned
):
    from accounts.checks import check_login_codes_mail

    settings.EMAIL_BACKEND, settings.DEBUG = backend, debug
    settings.AUTHSVC_LOGIN_CODES_ENABLED = enabled

    assert [w.id for w in check_login_codes_mail(None)] == (["authsvc.W006"] if warned else [])
