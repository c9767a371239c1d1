from authsvc.errors import ServiceError


class InvalidCredentials(ServiceError):
    """Unknown email or wrong password: deliberately one error for both."""

    code = "invalid_credentials"
    kind = "unauthenticated"


class AccountDisabled(ServiceError):
    """The password was right but the account may not log in."""

    code = "account_disabled"
    kind = "forbidden"


class EmailTaken(ServiceError):
    code = "email_taken"
    kind = "conflict"


class InvalidRequest(ServiceError):
    code = "invalid_request"
    kind = "invalid"


class ResetTokenInvalid(ServiceError):
    """A reset link or verification key that is wrong, used, or expired."""

    code = "invalid_token"
    kind = "invalid"


class EmailNotVerified(ServiceError):
    code = "email_not_verified"
    kind = "forbidden"


class InvalidCode(ServiceError):
    """A TOTP or backup code that is wrong, already used, or outside the ±1 step window,
    offered as the proof of a login or of a sensitive change."""

    code = "invalid_code"
    kind = "unauthenticated"


class CodeRejected(InvalidCode):
    """The same wrong code, offered as input to set up or renew 2FA (a 400, not a 401)."""

    kind = "invalid"


class MfaChallengeExpired(ServiceError):
    """No login challenge, or one that is forged, expired, used up or already completed."""

    code = "mfa_challenge_expired"
    kind = "unauthenticated"


class MfaAlreadyEnabled(ServiceError):
    code = "mfa_already_enabled"
    kind = "conflict"


class MfaNotEnabled(ServiceError):
    code = "mfa_not_enabled"
    kind = "invalid"


class ReauthRequired(ServiceError):
    """The session last proved a factor longer ago than AUTHSVC_REAUTH_MAX_AGE_SECONDS; a
    sensitive change waits for POST /auth/reauth/."""

    code = "reauth_required"
    kind = "forbidden"


class CannotBanSelf(ServiceError):
    """An operator may not lock themselves out."""

    code = "cannot_ban_self"
    kind = "conflict"


class UserNotFound(ServiceError):
    code = "not_found"
    kind = "not_found"


class LoginCodesDisabled(ServiceError):
    """Sign-in codes by email are turned off (AUTHSVC_LOGIN_CODES_ENABLED)."""

    code = "not_configured"
    kind = "not_found"


class InvalidCredential(ServiceError):
    """A passkey's answer that does not verify: unknown credential, wrong origin or RP id,
    a challenge not issued or already used, no user verification, a bad signature, or a
    signature counter that went backwards (a cloned authenticator)."""

    code = "invalid_credential"
    kind = "unauthenticated"


class CredentialRejected(InvalidCredential):
    """The same, for a credential offered to be registered (a 400, not a 401)."""

    kind = "invalid"


class PasskeyNotFound(ServiceError):
    """No passkey with this id belongs to the user (another user's included)."""

    code = "not_found"
    kind = "not_found"


class HashingBusy(ServiceError):
    """Every password-hashing slot of this process is taken (a login storm): refused at
    once, before the attempt is counted, so the process keeps serving other requests."""

    code = "unavailable"
    kind = "unavailable"
    retry_after = 1
