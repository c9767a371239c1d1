"""Content-Security-Policy on every response: django-csp's policy (settings/security.py)
on HTML pages, a fixed deny-everything policy on everything else.

The HTML policy allows scripts only from this origin (or with the request's nonce, for a
page that needs an inline one): the admin and Swagger UI (whose start-up script is a
separate file, `authsvc.apidocs.SwaggerUIView`) have no inline script. JSON, YAML, the
JWKS and static files never need to run or load anything, and a browser that is tricked
into rendering one as a page (or framing it) must not either.
"""

from csp.constants import HEADER
from csp.middleware import CSPMiddleware

NON_HTML_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def process_response(self, request, response):
        if not response.get("Content-Type", "").startswith("text/html"):
            # The hot path (every API answer): one header, nothing built per request.
            if HEADER not in response:
                response[HEADER] = NON_HTML_POLICY
            return response
        return super().process_response(request, response)
