"""Transport and browser hardening; strict unless DJANGO_DEBUG is on."""

from csp import constants as _csp

from .base import DEBUG
from .cors import AUTHSVC_COOKIE_CROSS_SITE
from .env import env_bool, env_int, env_str
from .jwt import AUTHSVC_COOKIE_SECURE

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# django-csp's policy for HTML pages (the admin, /api/docs/, error pages, any page added
# later); every other response gets authsvc.csp.NON_HTML_POLICY. No inline script: a page
# that needs one renders it with `nonce="{{ request.csp_nonce }}"`. Inline styles stay
# allowed (Swagger UI's page has a <style> block, the admin style attributes); a style
# cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_csp.SELF],
        "script-src": [_csp.SELF, _csp.NONCE],
        "style-src": [_csp.SELF, _csp.UNSAFE_INLINE],
        # Swagger UI's stylesheet draws its icons as data: SVGs.
        "img-src": [_csp.SELF, "data:"],
        "font-src": [_csp.SELF],
        "connect-src": [_csp.SELF],
        "object-src": [_csp.NONE],
        "base-uri": [_csp.NONE],
        "form-action": [_csp.SELF],
        "frame-ancestors": [_csp.NONE],
    }
}

CSRF_COOKIE_NAME = "csrftoken"
CSRF_HEADER_NAME = "HTTP_X_CSRFTOKEN"
# A cross-site front end's requests carry the cookie only with SameSite=None (cors.py).
CSRF_COOKIE_SAMESITE = "None" if AUTHSVC_COOKIE_CROSS_SITE else "Lax"
# The front end reads this cookie to echo it in X-CSRFToken (double submit), so not HttpOnly.
CSRF_COOKIE_HTTPONLY = False
CSRF_COOKIE_SECURE = AUTHSVC_COOKIE_SECURE
SESSION_COOKIE_SECURE = AUTHSVC_COOKIE_SECURE
CSRF_FAILURE_VIEW = "authsvc.errors.csrf_failure"

SECURE_SSL_REDIRECT = env_bool("AUTHSVC_SSL_REDIRECT", not DEBUG)
# Probes and Prometheus talk plain HTTP to the container; they must not be redirected to
# HTTPS (/metrics answers only the allowed IPs, settings/metrics.py).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("AUTHSVC_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("AUTHSVC_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("AUTHSVC_HSTS_PRELOAD", True)

# Only trust the proxy's scheme header when the operator names it (e.g. X-Forwarded-Proto);
# trusting it blindly would let any client claim HTTPS.
_proxy_header = env_str("AUTHSVC_PROXY_SSL_HEADER")
SECURE_PROXY_SSL_HEADER = (_proxy_header, "https") if _proxy_header else None
