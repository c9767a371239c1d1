"""The one place that turns failures into the contract's JSON errors.

Services raise `ServiceError` subclasses that know nothing of HTTP: a stable `code` from
`ERROR_CODES` and a `kind` saying what went wrong in domain terms. `exception_handler`
(DRF's EXCEPTION_HANDLER) and the Django handlers below map them to
`{"error": code, "detail": sentence}` with the right status. Tests assert on the code.
"""

import logging
import sys
from http import HTTPStatus

import psycopg
from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import utils as db_utils
from django.http import Http404, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from rest_framework import exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)

# Every error code the service answers with, and the sentence that goes with it.
ERROR_CODES: dict[str, str] = {
    "invalid_request": "The request is invalid.",
    "invalid_credentials": "The email or password is incorrect.",
    "account_disabled": "This account is disabled.",
    "email_taken": "An account with this email already exists.",
    "invalid_token": "The token is invalid, expired or revoked.",
    "not_authenticated": "Authentication credentials were not provided.",
    "permission_denied": "You do not have permission to perform this action.",
    "csrf_failed": "CSRF verification failed.",
    "not_found": "Not found.",
    "method_not_allowed": "This method is not allowed here.",
    "not_acceptable": "The requested response format is not available.",
    "unsupported_media_type": "Send the request body as application/json.",
    "payload_too_large": "The request body is too large.",
    "rate_limited": "Too many requests; try again later.",
    "not_ready": "A dependency of the service is unavailable.",
    "email_not_verified": "Verify your email address before logging in.",
    "invalid_code": "The code is invalid or has already been used.",
    "invalid_credential": "The passkey could not be verified.",
    "mfa_challenge_expired": "The two-factor step expired or was already completed; log in again.",
    "mfa_already_enabled": "Two-factor authentication is already enabled.",
    "mfa_not_enabled": "Two-factor authentication is not enabled.",
    "not_configured": "This login method is not configured on this server.",
    "account_exists": (
        "An account with this email exists; sign in with your password and link Google "
        "from your account."
    ),
    "google_account_in_use": "This Google account is linked to another account.",
    "google_already_linked": "A Google account is already linked to this account.",
    "last_login_method": "This is the account's only way to log in.",
    "access_denied": "The sign-in was cancelled at Google.",
    "invalid_state": "The sign-in could not be matched to this browser; start again.",
    "google_error": "Google did not complete the sign-in.",
    "google_unavailable": "Google could not be reached; try again.",
    "cannot_ban_self": "You cannot ban your own account.",
    "reauth_required": "Confirm your password or a code again (POST /auth/reauth/) to do this.",
    "invalid_client": "The service client credential is missing, unknown, wrong or disabled.",
    "unsupported_grant_type": "Only grant_type=client_credentials is supported here.",
    "invalid_scope": "The requested scope is unknown or not allowed for this client.",
    "insufficient_scope": "The service client lacks the scope this endpoint requires.",
    "server_error": "The server could not complete the request.",
    "unavailable": "The service cannot complete this request right now; try again shortly.",
}

# What a domain `kind` means over HTTP.
KIND_STATUS: dict[str, int] = {
    "invalid": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "rate_limited": 429,
    "unavailable": 503,
}


class ServiceError(Exception):
    """A failure a service reports to its caller; subclasses set `code` and `kind`."""

    code = "invalid_request"
    kind = "invalid"

    def __init__(self, detail: str | None = None, *, fields: dict | None = None):
        self.detail = detail or ERROR_CODES[self.code]
        self.fields = fields
        super().__init__(self.detail)


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "payload_too_large"
    default_detail = ERROR_CODES["payload_too_large"]


class DatabaseUnavailable(ServiceError):
    """PostgreSQL did not answer (refused, timed out, cut off): nothing was decided."""

    code = "unavailable"
    kind = "unavailable"

    @property
    def retry_after(self) -> int:
        return settings.AUTHSVC_DB_TIMEOUT_SECONDS


# Errors that say the database could not be reached or did not answer in time, as opposed
# to a query the database refused (IntegrityError, ProgrammingError...). Statement, lock
# and idle-transaction timeouts (QueryCanceled, LockNotAvailable) are OperationalErrors.
_DATABASE_DOWN = (
    db_utils.OperationalError,
    db_utils.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc`, or an exception it was raised from or while handling, says the
    database is unreachable (e.g. a rollback that failed after a cut connection)."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, _DATABASE_DOWN):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def unavailable_response() -> JsonResponse:
    error = DatabaseUnavailable()
    response = JsonResponse(error_body(error.code), status=KIND_STATUS[error.kind])
    response["Retry-After"] = str(error.retry_after)
    return response


def error_body(code: str, detail: str | None = None, **extra) -> dict:
    return {"error": code, "detail": str(detail or ERROR_CODES[code]), **extra}


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested ValidationError detail as {"field": ["message", ...]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(_flatten(value, name))
        return flat
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        flat = {}
        for index, item in enumerate(detail):
            flat.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    items = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(item) for item in items]}


_API_EXCEPTION_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "invalid_token"),
    (exceptions.ParseError, "invalid_request"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "rate_limited"),
    (exceptions.NotFound, "not_found"),
    (exceptions.PermissionDenied, "permission_denied"),
    (PayloadTooLarge, "payload_too_large"),
]


def exception_handler(exc, context):
    headers: dict[str, str] = {}
    if isinstance(exc, ServiceError):
        body = error_body(exc.code, exc.detail)
        if exc.fields:
            body["fields"] = exc.fields
        if getattr(exc, "retry_after", None):
            headers["Retry-After"] = str(exc.retry_after)
        if getattr(exc, "www_authenticate", None):
            headers["WWW-Authenticate"] = exc.www_authenticate
        return Response(body, status=KIND_STATUS[exc.kind], headers=headers)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("payload_too_large"), status=413)
    if isinstance(exc, Http404):
        return Response(error_body("not_found"), status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return Response(error_body("permission_denied"), status=403)
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("invalid_request", fields=_flatten(exc.detail))
        return Response(body, status=400)
    if isinstance(exc, exceptions.APIException):
        code = next((code for cls, code in _API_EXCEPTION_CODES if isinstance(exc, cls)), None)
        if code is None:
            code = exc.default_code if exc.default_code in ERROR_CODES else "invalid_request"
        detail = (
            exc.detail
            if isinstance(exc, exceptions.ParseError | exceptions.MethodNotAllowed)
            else None
        )
        if isinstance(exc, exceptions.PermissionDenied) and getattr(exc, "csrf", False):
            code, detail = "csrf_failed", exc.detail
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(max(1, int(exc.wait)))
        return Response(error_body(code, detail), status=exc.status_code, headers=headers)
    if database_unavailable(exc):
        logger.warning("database unavailable in %s: %s", _view_name(context), exc)
        return exception_handler(DatabaseUnavailable(), context)
    logger.exception("Unhandled error in %s", _view_name(context))
    return Response(error_body("server_error"), status=500)


def _view_name(context) -> str:
    return context.get("view").__class__.__name__


class DatabaseUnavailableMiddleware:
    """`503 unavailable` for a plain Django view (the admin, JWKS, probes, Google redirects)
    that failed because the database is down, instead of a 500 with a traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if database_unavailable(exception):
            logger.warning("database unavailable at %s: %s", request.path, exception)
            if _for_a_page(request):
                return _page_error(request, HTTPStatus.SERVICE_UNAVAILABLE)
            return unavailable_response()
        return None


def _json_error(code: str, status: int, detail: str | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, detail), status=status)


def _for_a_page(request) -> bool:
    """Whether the request was routed to one of the pages for people (the `pages`
    namespace): those get an HTML error page; everything else keeps its JSON."""
    match = getattr(request, "resolver_match", None)
    return match is not None and "pages" in match.app_names


def _page_error(request, status: int) -> HttpResponse:
    # The template lives with the pages; only its name is known here (no upward import).
    from django.utils.translation import gettext as _

    titles = {
        400: _("Bad request"),
        403: _("This request was refused"),
        404: _("Page not found"),
        500: _("Something went wrong"),
        503: _("Temporarily unavailable"),
    }
    messages = {
        400: _("The request could not be understood."),
        403: _(
            "The form expired or came from another site. Go back, reload the page and try again."
        ),
        404: _("There is nothing at this address."),
        500: _("The server could not complete the request. Try again in a moment."),
        503: _("The service cannot complete this right now; try again shortly."),
    }
    body = render_to_string(
        "pages/error.html",
        {"status": status, "title": titles[status], "message": messages[status]},
        request,
    )
    response = HttpResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    if status == 503:
        response["Retry-After"] = str(settings.AUTHSVC_DB_TIMEOUT_SECONDS)
    return response


# Django-level handlers, for requests that never reach a DRF view.
def bad_request(request, exception=None):
    if _for_a_page(request):
        return _page_error(request, HTTPStatus.BAD_REQUEST)
    return _json_error("invalid_request", HTTPStatus.BAD_REQUEST)


def permission_denied(request, exception=None):
    if _for_a_page(request):
        return _page_error(request, HTTPStatus.FORBIDDEN)
    return _json_error("permission_denied", HTTPStatus.FORBIDDEN)


def page_not_found(request, exception=None):
    if _for_a_page(request):
        return _page_error(request, HTTPStatus.NOT_FOUND)
    return _json_error("not_found", HTTPStatus.NOT_FOUND)


def server_error(request):
    # Raised outside a view (a middleware, a signal receiver) and so past the middleware
    # above: Django calls this handler while handling the exception.
    if database_unavailable(sys.exc_info()[1]):
        if _for_a_page(request):
            return _page_error(request, HTTPStatus.SERVICE_UNAVAILABLE)
        return unavailable_response()
    if _for_a_page(request):
        return _page_error(request, HTTPStatus.INTERNAL_SERVER_ERROR)
    return _json_error("server_error", HTTPStatus.INTERNAL_SERVER_ERROR)


def csrf_failure(request, reason=""):
    if _for_a_page(request):
        return _page_error(request, HTTPStatus.FORBIDDEN)
    return _json_error("csrf_failed", HTTPStatus.FORBIDDEN, f"CSRF verification failed: {reason}")
