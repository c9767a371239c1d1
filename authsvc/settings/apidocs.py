"""The API docs: Swagger UI from drf-spectacular, its assets from drf-spectacular-sidecar
served by the service itself, never from a CDN.

The schema is generated from the code (`authsvc/schema/`, served by
`authsvc.apidocs`); `make schema` writes it to docs/openapi.yaml. The apps, WhiteNoise's
middleware and DRF's DEFAULT_SCHEMA_CLASS are in base.py.
"""

from .base import DEBUG
from .security import CSRF_COOKIE_NAME

# Swagger UI's options, as a JavaScript object literal (drf-spectacular inserts a string as
# it is, after its own options, in the page's start-up script: `/api/docs/?script`).
# "Try it out" runs on the page's own origin, so the browser sends the cookies by itself
# (`credentials: "same-origin"`; `withCredentials` would make it "include", on which
# drf-spectacular's script stops sending the CSRF header). Every unsafe request gets
# X-CSRFToken from the csrftoken cookie as it is when the request is made, so a token the
# page did not render (a cookie set after the page loaded) still passes.
SWAGGER_UI_SETTINGS = """{
  requestInterceptor: (request) => {
    const method = (request.method || "GET").toUpperCase();
    if (!["GET", "HEAD", "OPTIONS"].includes(method)) {
      const match = document.cookie.match(/(?:^|;\\s*)CSRF_COOKIE=([^;]*)/);
      if (match) request.headers["X-CSRFToken"] = decodeURIComponent(match[1]);
    }
    return request;
  },
}""".replace("CSRF_COOKIE", CSRF_COOKIE_NAME)

# WhiteNoise serves STATIC_ROOT, which the image fills with `collectstatic`; under
# `make run` (DEBUG) it reads the apps' static folders directly instead.
WHITENOISE_USE_FINDERS = DEBUG

SPECTACULAR_SETTINGS = {
    # The title, description, tags and security schemes are in authsvc/schema/.
    "OAS_VERSION": "3.1.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "authsvc.schema.postprocess",
    ],
    "ENUM_NAME_OVERRIDES": {"ErrorCode": "authsvc.errors.ERROR_CODES"},
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # The docs page is public and reads no credentials: a stale access cookie must not
    # turn it into a 401.
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_SETTINGS": SWAGGER_UI_SETTINGS,
}
