"""Any WSGI app: a middleware that verifies the Bearer token and puts the principal in the
environ (`authsvc.principal`), answering 401/503 JSON itself when a token fails.

    app = VerifierWSGIMiddleware(app, verifier)

For ASGI or anything else, call `verifier.verify_request_headers(headers)` (run it in a
thread from async code: it may fetch keys or ask authsvc).
"""

import json

from authsvc_verifier.errors import VerifierError
from authsvc_verifier.verifier import Verifier

ENVIRON_KEY = "authsvc.principal"
_REASONS = {401: "401 Unauthorized", 503: "503 Service Unavailable"}


class VerifierWSGIMiddleware:
    def __init__(self, app, verifier: Verifier, *, accept=("access",)):
        self.app, self.verifier, self.accept = app, verifier, accept

    def __call__(self, environ, start_response):
        try:
            environ[ENVIRON_KEY] = self.verifier.verify_request_headers(
                environ, accept=self.accept
            )
        except VerifierError as error:
            body = json.dumps({"error": error.code, "detail": error.detail}).encode()
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            if error.status == 401:
                headers.append(("WWW-Authenticate", f'Bearer error="{error.code}"'))
            start_response(_REASONS.get(error.status, f"{error.status} Error"), headers)
            return [body]
        return self.app(environ, start_response)
