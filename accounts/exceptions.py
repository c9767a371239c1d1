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


class CannotBanSelf(ServiceError):
    """An operator may not lock themselves out."""

    code = "cannot_ban_self"
    kind = "conflict"


class UserNotFound(ServiceError):
    code = "not_found"
    kind = "not_found"
