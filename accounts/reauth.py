"""Step-up: the changes that could take an account over need a session that proved a factor
recently, not merely a live one.

Each session keeps `auth_time`, when it last proved a factor: its login (password, Google,
a passkey, and the 2FA step), or `POST /auth/reauth/` (`/auth/reauth/passkey/`). A
refresh never moves it. Adding or removing a second factor, linking or unlinking Google and
changing the email check it (`recent_auth_require`, through
`accounts.permissions.RecentAuthentication`), so a stolen session, or a cookie left in a
shared browser, cannot turn itself into the account.
"""

from accounts.exceptions import InvalidCode, InvalidRequest, MfaNotEnabled, ReauthRequired
from accounts.mfa.services import mfa_code_verify, mfa_enabled
from accounts.models import User
from accounts.passkeys.services import user_has_passkey
from accounts.services import password_verify
from audit import events
from authsvc import clock
from authsvc.http import ClientInfo
from sessions_store.backends.base import Snapshot
from sessions_store.selectors import session_auth_time
from sessions_store.services import session_reauthenticated
from tokens.conf import token_settings
from tokens.exceptions import TokenInvalid

PASSWORD_METHOD = "pwd"  # noqa: S105 - an amr value, not a secret


def _recent(auth_time: int) -> bool:
    age = clock.now().timestamp() - auth_time
    return auth_time > 0 and age <= token_settings.reauth_max_age.total_seconds()


def recent_auth_require(snapshot: Snapshot) -> None:
    """ReauthRequired unless the session proved a factor within
    AUTHSVC_REAUTH_MAX_AGE_SECONDS.

    Decided by the session, never by the token's `auth_time` claim: a reauth then counts at
    once for the session's current token, and a token cannot be fresher than its session.
    """
    if _recent(snapshot.auth_time):
        return
    # Only a refusal asks the database, the truth: the cached snapshot may predate a reauth
    # whose store write failed, or the field itself.
    auth_time = session_auth_time(snapshot.sid)
    if auth_time is not None and _recent(int(auth_time.timestamp())):
        return
    raise ReauthRequired()


def session_reauth(
    *,
    user_id,
    session_id: str,
    client: ClientInfo,
    password: str | None = None,
    code: str | None = None,
) -> int:
    """The session proves a factor again; returns its new `auth_time` (Unix seconds).

    An account with 2FA proves it with a code (TOTP or backup, under the account's 2FA
    throttle): the password alone is the factor a phished or reused password gives away,
    and with it a stolen session could change the email of an account its owner protected
    with 2FA. Without 2FA it is the password, through the login's own check and lockout.
    An account whose second factor is a passkey (no app) proves the passkey
    (`accounts.passkeys.services.passkey_reauth`), for the same reason: its password is
    refused here. An account with neither (Google only, no 2FA) cannot reauth here: a new
    Google login gives it a fresh session.
    """
    user = User.objects.get(pk=user_id)
    if mfa_enabled(user):
        if code is None:
            raise InvalidRequest(
                "This account has two-factor authentication: confirm with a code.",
                fields={"code": ["A code from the authenticator app or a backup code."]},
            )
        try:
            method = mfa_code_verify(user_id=user.pk, code=code, client=client, purpose="reauth")
        except InvalidCode:
            events.record(
                "reauth_failed",
                user_id=str(user.pk),
                sid=session_id,
                client=client,
                reason="wrong_code",
            )
            raise
    elif code is not None:
        raise MfaNotEnabled("This account has no two-factor authentication: use the password.")
    elif user_has_passkey(user.pk):
        raise InvalidRequest(
            "This account has a passkey: confirm with it (POST /auth/reauth/passkey/).",
            fields={"password": ["Confirm with your passkey instead."]},
        )
    else:
        password_verify(
            user=user,
            email=user.email,
            password=password or "",
            client=client,
            attempt="reauth",
            sid=session_id,
        )
        method = PASSWORD_METHOD
    renewed = session_reauthenticated(session_id=session_id, user_id=user.pk)
    if renewed is None:
        # The session ended while the factor was checked.
        raise TokenInvalid()
    events.record("reauth", user_id=str(user.pk), sid=session_id, client=client, method=method)
    return int(renewed.timestamp())
