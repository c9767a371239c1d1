"""Google identities: who a Google account logs in as, linking and unlinking."""

from django.db import IntegrityError, transaction
from social_django.models import UserSocialAuth

from accounts.bans import user_may_log_in
from accounts.exceptions import AccountDisabled, EmailTaken
from accounts.mfa.challenge import Challenge
from accounts.mfa.services import mfa_login_start, second_factor_required
from accounts.models import User
from accounts.services import email_clean, user_create
from accounts.social.exceptions import (
    AccountExists,
    GoogleAccountInUse,
    GoogleAlreadyLinked,
    GoogleNotLinked,
    LastLoginMethod,
)
from audit import events
from authsvc.http import ClientInfo
from tokens.services import IssuedTokens, session_start

PROVIDER = "google-oauth2"
# The first factor of a Google login, in the token's `amr` (["google", "otp"] with 2FA).
GOOGLE_AMR = "google"


def _identity(uid: str) -> UserSocialAuth | None:
    return UserSocialAuth.objects.select_related("user").filter(provider=PROVIDER, uid=uid).first()


def _link_create(*, user: User, uid: str, email: str) -> UserSocialAuth:
    # Only the address is kept, to show operators which Google account it is.
    return UserSocialAuth.objects.create(
        user=user, provider=PROVIDER, uid=uid, extra_data={"email": email}
    )


def google_user_resolve(
    *, uid: str, email: str, email_verified: bool, name: str, client: ClientInfo | None
) -> tuple[User, bool]:
    """The local user a Google account logs in as, and whether it was just created.

    Matched by Google's stable `sub`, never by email. A new `sub` whose verified email no
    local account has gets a new account; one whose email a local account has is linked
    to it only if both sides verified the address (else `AccountExists`): an unverified
    local address may belong to someone else, and an unverified Google one may too.
    """
    identity = _identity(uid)
    if identity is not None:
        return identity.user, False
    if not email_verified:
        events.record("google_link_refused", client=client, reason="google_email_unverified")
        raise AccountExists("Google has not verified this email address.")
    email = email_clean(email)
    try:
        with transaction.atomic():
            existing = User.objects.select_for_update().filter(email=email).first()
            if existing is None:
                user = user_create(email=email, password=None, name=name[:150])
                User.objects.filter(pk=user.pk).update(email_verified=True)
                user.email_verified = True
                _link_create(user=user, uid=uid, email=email)
                events.record("google_account_created", user_id=str(user.pk), client=client)
                return user, True
            refusal = _automatic_link_refusal(existing)
            if refusal is None:
                _link_create(user=existing, uid=uid, email=email)
                events.record(
                    "google_linked", user_id=str(existing.pk), client=client, automatic=True
                )
                return existing, False
    except (IntegrityError, EmailTaken):
        # A concurrent callback for the same Google account or address won the race.
        identity = _identity(uid)
        if identity is not None:
            return identity.user, False
        raise AccountExists() from None
    events.record("google_link_refused", user_id=str(existing.pk), client=client, reason=refusal)
    if refusal == "disabled":
        raise AccountDisabled()
    raise AccountExists()


def _automatic_link_refusal(user: User) -> str | None:
    if not user_may_log_in(user):
        return "disabled"
    if not user.email_verified:
        return "local_email_unverified"
    if UserSocialAuth.objects.filter(user=user, provider=PROVIDER).exists():
        return "other_google_account_linked"
    return None


@transaction.atomic
def google_link(*, user_id, uid: str, email: str, client: ClientInfo | None) -> None:
    """A signed-in user links a Google account; they proved both, so emails need not match."""
    user = User.objects.select_for_update().get(pk=user_id)
    identity = _identity(uid)
    if identity is not None:
        if identity.user_id == user.pk:
            return
        events.record("google_link_refused", user_id=str(user.pk), client=client, reason="in_use")
        raise GoogleAccountInUse()
    if UserSocialAuth.objects.filter(user=user, provider=PROVIDER).exists():
        events.record(
            "google_link_refused", user_id=str(user.pk), client=client, reason="already_linked"
        )
        raise GoogleAlreadyLinked()
    try:
        with transaction.atomic():
            _link_create(user=user, uid=uid, email=email)
    except IntegrityError:
        raise GoogleAccountInUse() from None
    events.record("google_linked", user_id=str(user.pk), client=client, automatic=False)


def google_linked_email(*, user_id) -> str | None:
    """The address of the Google account linked to the user, if one is."""
    identity = UserSocialAuth.objects.filter(user_id=user_id, provider=PROVIDER).first()
    if identity is None:
        return None
    return (identity.extra_data or {}).get("email") or ""


@transaction.atomic
def google_unlink(*, user_id, client: ClientInfo) -> None:
    """Remove the Google link, unless it is the account's only way to log in."""
    user = User.objects.select_for_update().get(pk=user_id)
    identities = UserSocialAuth.objects.filter(user=user, provider=PROVIDER)
    if not identities.exists():
        raise GoogleNotLinked()
    others = UserSocialAuth.objects.filter(user=user).exclude(provider=PROVIDER).exists()
    if not user.has_usable_password() and not others:
        raise LastLoginMethod(
            "Set a password first (password reset): Google is this account's only way in."
        )
    identities.delete()
    events.record("google_unlinked", user_id=str(user.pk), client=client)


def google_login_finish(*, user: User, client: ClientInfo) -> IssuedTokens | Challenge:
    """End a Google login like a password login: refused when disabled, the 2FA challenge
    when the account has 2FA, else a session."""
    if not user_may_log_in(user):
        events.record("login_refused", user_id=str(user.pk), client=client, reason="disabled")
        raise AccountDisabled()
    if second_factor_required(user):
        events.record("login_mfa_required", user_id=str(user.pk), client=client, method="google")
        return mfa_login_start(user=user, amr=[GOOGLE_AMR])
    issued = session_start(user=user, client=client, amr=[GOOGLE_AMR])
    events.record("google_login", user_id=str(user.pk), sid=issued.session_id, client=client)
    return issued
