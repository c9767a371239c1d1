"""Django: the configured verifier, and a middleware that verifies Bearer tokens.

settings.py:
    AUTHSVC_VERIFIER = "myservice.auth.verifier"   # a Verifier, or a function returning one
    MIDDLEWARE = [..., "authsvc_verifier.django.VerifierMiddleware", ...]

The middleware sets `request.auth_principal` (a Principal, or None without an Authorization
header) and answers 401 JSON `{"error": "invalid_token", ...}` itself when a token is
present but fails, 503 `{"error": "unavailable"}` when authsvc cannot be asked and this
service chose to fail closed. Views decide what an absent principal means.
"""

import functools

from django.conf import settings
from django.http import JsonResponse
from django.utils.module_loading import import_string

from authsvc_verifier.errors import VerifierError
from authsvc_verifier.verifier import Verifier


@functools.cache
def get_verifier() -> Verifier:
    target = import_string(settings.AUTHSVC_VERIFIER)
    verifier = target if isinstance(target, Verifier) else target()
    if not isinstance(verifier, Verifier):
        raise TypeError("AUTHSVC_VERIFIER must name a Verifier or a function returning one")
    return verifier


def error_response(error: VerifierError) -> JsonResponse:
    response = JsonResponse({"error": error.code, "detail": error.detail}, status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = f'Bearer error="{error.code}"'
    return response


class VerifierMiddleware:
    # The token types this middleware takes; a subclass may add "service".
    accept = ("access",)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            request.auth_principal = get_verifier().verify_request_headers(
                request.headers, accept=self.accept
            )
        except VerifierError as error:
            return error_response(error)
        return self.get_response(request)
