"""Sign-in codes by email: a 6-digit code mailed to an account's address, valid 10 minutes,
single use, 5 tries, then a login like a password's (the 2FA challenge when the account
has a second factor). The API views and the pages call these.

What a stranger can learn is what the password reset lets them learn: nothing.

- The request path is the reset's (`passwords.password_reset_request`): for every address
  it queues one mail row with the address as typed, nothing else. Looking the account up,
  drawing the code and rendering the mail happen when the worker builds the mail
  (`login_code_mail_build`), so a known address costs the request what an unknown one
  does, and no code ever sits in the mail queue's table: the worker holds it in memory
  between drawing it and handing it to the SMTP server. Its 10 minutes start then, so a
  mail delayed by an SMTP outage does not arrive dead. An address without an account that
  may sign in gets no mail at all (mailing strangers on anyone's say-so would make this a
  spam cannon), the reset's choice too.
- The confirmation does the same statements for every address: one UPDATE that counts the
  attempt against the address's live code (matching nothing for an unknown address, or
  one without a live code), one HMAC, one audit event; a right code adds the consumption
  and the login. Counting comes first, in its own transaction that waits for no WAL flush
  (a crash can lose a count, never grant a login), so parallel guesses cannot share an
  attempt and a found row costs no measurably different commit; the per-address failure
  limit leaves a timer 20 samples a day.

At rest a code is HMAC-SHA256 under a key derived from SECRET_KEY (`salted_hmac`), bound to
the user id: a million possible codes make a plain hash worthless in a leaked table, while
without SECRET_KEY the digest says nothing. A code is consumed by deleting its row (the
DELETE that finds it wins; a racer finds nothing), and a new code replaces the old row.
"""

import contextlib
import hmac
import secrets
import uuid
from datetime import timedelta
from typing import NoReturn

from django.conf import settings
from django.db import connection, transaction
from django.utils.crypto import salted_hmac

from accounts.bans import user_may_log_in
from accounts.emails import normalize_email
from accounts.exceptions import AccountDisabled, InvalidCode, LoginCodesDisabled
from accounts.mail import LOGIN_CODE_MAIL, mail_language, templated_mail
from accounts.mfa.challenge import Challenge
from accounts.mfa.services import mfa_login_start, second_factor_required
from accounts.models import LoginCode, User
from audit import events
from authsvc import clock
from authsvc.batching import delete_in_batches
from authsvc.http import ClientInfo
from authsvc.ratelimit import failures_limited, rate_limit, rate_limit_ip
from mailqueue.queue import mail_enqueue
from mailqueue.registry import Built
from sessions_store.services import user_snapshots_refresh
from tokens.services import IssuedTokens, session_start

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 5
# The first factor of a code login in the token's `amr` (["email", "otp"] with 2FA). RFC
# 8176 has no value for a code sent by email ("otp" is the authenticator app's, "sms" a
# phone's); like "google", a name of our own.
LOGIN_CODE_AMR = "email"
METHOD = "email_code"
_HMAC_SALT = "authsvc.accounts.login_code"
# Compared against when there is no live code, so every confirmation computes one HMAC.
_NO_DIGEST = "0" * 64
_NO_USER = "00000000-0000-0000-0000-000000000000"


def login_codes_require() -> None:
    if not settings.AUTHSVC_LOGIN_CODES_ENABLED:
        raise LoginCodesDisabled()


def code_digest(*, user_id, code: str) -> str:
    return salted_hmac(_HMAC_SALT, f"{user_id}:{code}", algorithm="sha256").hexdigest()


def code_clean(code: str) -> str:
    # People type "123 456" or "123-456" as the mail shows it.
    return "".join(char for char in code if char not in " -\t")


def login_code_request_limit(request, *, email: str) -> None:
    """Every door's limits on asking for a code: per client IP, and per address (one
    address must not be bombed with mail from many IPs). Counted for every address alike."""
    login_codes_require()
    rate_limit_ip(request, "login_code_ip")
    rate_limit(request, group="login_code_email", key=normalize_email(email))


@contextlib.contextmanager
def login_code_confirm_limited(request, *, email: str, client: ClientInfo):
    """Every door's limits on confirming: failed codes per client IP and per address (the
    latter bounds guessing across successive codes). Good codes are not counted."""
    login_codes_require()
    failures = (InvalidCode,)
    with (
        failures_limited(
            request, group="login_code_failed_ip", key=client.ip or "", failures=failures
        ),
        failures_limited(
            request,
            group="login_code_failed_email",
            key=normalize_email(email),
            failures=failures,
        ),
    ):
        yield


def login_code_request(*, email: str, client: ClientInfo) -> None:
    """Queue the code mail for this address; the same single INSERT whether or not an
    account has it (the worker decides, `login_code_mail_build`)."""
    login_codes_require()
    email = normalize_email(email)
    mail_enqueue(
        LOGIN_CODE_MAIL,
        to=email,
        params={
            "email": email,
            "ip": client.ip,
            "user_agent": client.user_agent,
            "language": mail_language(),
        },
    )


def login_code_issue(*, user: User) -> str:
    """Draw a new code for `user`, replacing (killing) any earlier one; returns it, the only
    time it exists in clear."""
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    now = clock.now()
    with transaction.atomic():
        # A new row (a new id), not an update: a confirmation that counted against the old
        # code cannot consume the new one.
        LoginCode.objects.filter(user=user).delete()
        LoginCode.objects.create(
            user=user,
            code_digest=code_digest(user_id=user.pk, code=code),
            created_at=now,
            expires_at=now + CODE_TTL,
        )
    return code


def login_code_mail_build(params: dict) -> Built:
    """The code mail with a code drawn now, or nothing for an address without an account
    that may sign in (or when codes were turned off meanwhile); the audit event (`known` or
    not, never the code) is recorded once, when the row is marked."""
    client = ClientInfo(ip=params.get("ip"), user_agent=params.get("user_agent", ""))
    user = User.objects.filter(email=params["email"]).first()
    if not settings.AUTHSVC_LOGIN_CODES_ENABLED or user is None or not user_may_log_in(user):
        return Built(
            None,
            after=lambda: events.record(
                "login_code_requested",
                user_id=str(user.pk) if user else None,
                client=client,
                known=False,
            ),
            reason="no account that may sign in has this address",
        )
    code = login_code_issue(user=user)
    message = templated_mail(
        template="login_code",
        to=user.email,
        context={
            "name": user.name,
            "email": user.email,
            "code": code,
            "code_display": f"{code[:3]} {code[3:]}",
            "valid_minutes": int(CODE_TTL.total_seconds()) // 60,
        },
        language=params.get("language"),
    )
    return Built(
        message,
        after=lambda: events.record(
            "login_code_requested", user_id=str(user.pk), client=client, known=True
        ),
    )


def _attempt_count(email: str):
    """Count one attempt against the address's live code, in one statement, committed at
    once whatever happens next; (code id, user id, digest), or None when there is no live
    code (unknown address, none asked for, expired, used, or out of attempts)."""
    codes = connection.ops.quote_name(LoginCode._meta.db_table)
    users = connection.ops.quote_name(User._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(clock.now())
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not _in_outer_atomic():
            # As session_start: no WAL flush for this count, so a found row commits as fast
            # as a miss (a crash can only forget a count).
            cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(
            f"UPDATE {codes} SET attempts = attempts + 1 "  # noqa: S608 - table names only
            f"WHERE user_id = (SELECT id FROM {users} WHERE email = %s) "
            "AND expires_at > %s AND attempts < %s "
            "RETURNING id, user_id, code_digest",
            [email, now, CODE_MAX_ATTEMPTS],
        )
        return cursor.fetchone()


def _in_outer_atomic() -> bool:
    # Inside a caller's transaction (the tests' own) the setting would outlive our block.
    return len(connection.atomic_blocks) > 1


def login_code_confirm(*, email: str, code: str, client: ClientInfo) -> IssuedTokens | Challenge:
    """A session for a right, live code, or the 2FA challenge when the account has a second
    factor; InvalidCode for anything else (the same answer for an unknown address), or
    AccountDisabled when the code was right but the account may not sign in."""
    login_codes_require()
    email = normalize_email(email)
    found = _attempt_count(email)
    code_id, user_id, digest = found if found else (None, _NO_USER, _NO_DIGEST)
    user_id = str(uuid.UUID(str(user_id)))
    # Constant time, and computed for a miss too.
    right = hmac.compare_digest(code_digest(user_id=user_id, code=code_clean(code)), digest)
    if not found:
        _failed(user_id=None, client=client, reason="no_live_code")
    if not right:
        _failed(user_id=user_id, client=client, reason="wrong_code")
    # The DELETE that finds the row wins; a racer with the same code finds nothing.
    deleted, _ = LoginCode.objects.filter(pk=code_id).delete()
    if not deleted:
        _failed(user_id=user_id, client=client, reason="already_used")
    return _log_in(user_id=user_id, client=client)


def _failed(*, user_id: str | None, client: ClientInfo, reason: str) -> NoReturn:
    # The reason is for operators; the answer is the same for all of them.
    events.record("login_code_failed", user_id=user_id, client=client, reason=reason)
    raise InvalidCode()


@transaction.atomic
def _log_in(*, user_id: str, client: ClientInfo) -> IssuedTokens | Challenge:
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        # Deleted since the code was counted.
        _failed(user_id=user_id, client=client, reason="no_account")
    if not user_may_log_in(user):
        # Only after a right code: a wrong one must not reveal anything about the account.
        events.record("login_refused", user_id=user_id, client=client, reason="disabled")
        raise AccountDisabled()
    if not user.email_verified:
        # The code arrived at the address: it is proven, as by a reset link.
        user.email_verified = True
        user.save(update_fields=["email_verified"])
        user_snapshots_refresh(user=user)
    if second_factor_required(user):
        challenge = mfa_login_start(user=user, amr=[LOGIN_CODE_AMR])
        events.record("login_mfa_required", user_id=user_id, client=client, method=METHOD)
        return challenge
    issued = session_start(user=user, client=client, amr=[LOGIN_CODE_AMR])
    events.record(
        "login_succeeded",
        user_id=user_id,
        sid=issued.session_id,
        client=client,
        method=METHOD,
        amr=[LOGIN_CODE_AMR],
    )
    return issued


def login_codes_purge(*, now, batch_size: int) -> int:
    """Delete the codes that expired unused (a used or replaced one is already gone)."""
    return delete_in_batches(LoginCode.objects.filter(expires_at__lt=now), batch_size=batch_size)
