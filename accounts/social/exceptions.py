"""Google login failures. Most end as `?error=<code>` on the front end's URL, not as JSON."""

from authsvc.errors import ServiceError


class GoogleNotConfigured(ServiceError):
    code = "not_configured"
    kind = "not_found"


class AccountExists(ServiceError):
    """A local account has this email but linking it automatically would not be safe."""

    code = "account_exists"
    kind = "conflict"


class GoogleAccountInUse(ServiceError):
    """This Google account is already linked to another local account."""

    code = "google_account_in_use"
    kind = "conflict"


class GoogleAlreadyLinked(ServiceError):
    """The local account is already linked to a (different) Google account."""

    code = "google_already_linked"
    kind = "conflict"


class GoogleNotLinked(ServiceError):
    code = "not_found"
    kind = "not_found"


class LastLoginMethod(ServiceError):
    """Unlinking would leave the account with no way to log in."""

    code = "last_login_method"
    kind = "conflict"


class GoogleFlowFailed(ServiceError):
    """The round trip to Google did not produce a user; `code` says why."""

    kind = "unauthenticated"

    def __init__(self, code: str):
        self.code = code
        super().__init__()
