"""Browsers on another origin (docs/frontends.md, "Deployments"): django-cors-headers.

AUTHSVC_CORS_ALLOWED_ORIGINS names the exact origins whose pages may call the API with the
browser's cookies; those origins are trusted for CSRF too. Empty (the default) is same
origin only: no CORS header is ever sent. `authsvc.checks` refuses a wildcard, a malformed
origin, and an `http://` origin outside debug.
"""

from .base import CSRF_TRUSTED_ORIGINS
from .env import env_bool, env_list

# As written (trailing slashes dropped); a bad value is refused by authsvc.checks (E050-E052)
# rather than here, so `manage.py check` reports every problem at once.
AUTHSVC_CORS_ALLOWED_ORIGINS = [
    origin.rstrip("/") for origin in env_list("AUTHSVC_CORS_ALLOWED_ORIGINS", [])
]

# Cross-site front ends (another registrable domain): the auth cookies must be sent on
# cross-site requests, which takes `SameSite=None` (and so `Secure`). Off by default; see
# the deployment table in docs/frontends.md for what it costs.
AUTHSVC_COOKIE_CROSS_SITE = env_bool("AUTHSVC_COOKIE_CROSS_SITE", False)

CORS_ALLOWED_ORIGINS = [o for o in AUTHSVC_CORS_ALLOWED_ORIGINS if o != "*"]
CORS_ALLOW_ALL_ORIGINS = False
CORS_ALLOW_CREDENTIALS = True
# The request headers the API reads from a browser; Accept and Content-Language are
# CORS-safelisted already. No Authorization: a browser page authenticates with the cookies.
CORS_ALLOW_HEADERS = ("content-type", "x-csrftoken")
CORS_ALLOW_METHODS = ("DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT")
# Retry-After (429, 503) is not a CORS-safelisted response header; without this a page on
# another origin could not read how long to wait.
CORS_EXPOSE_HEADERS = ("Retry-After",)
# Chromium caps a cached preflight at 2 hours, Firefox at 24.
CORS_PREFLIGHT_MAX_AGE = 7200
# Only the API a browser calls: /auth/ except the service-to-service doors (client
# credentials, introspection, forward-auth), which no page has a reason to call.
CORS_URLS_REGEX = r"^/auth/(?!token/|verify/|forward-auth/)"

CSRF_TRUSTED_ORIGINS = [
    *CSRF_TRUSTED_ORIGINS,
    *(o for o in CORS_ALLOWED_ORIGINS if o not in CSRF_TRUSTED_ORIGINS),
]
