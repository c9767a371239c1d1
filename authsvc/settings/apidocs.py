"""The API docs: Swagger UI from drf-spectacular, its assets from drf-spectacular-sidecar
served by the service itself, never from a CDN.

The schema is the hand-written docs/openapi.yaml (`authsvc.views.schema_view`);
drf-spectacular's generator only cross-checks it in the tests. The apps, WhiteNoise's
middleware and DRF's DEFAULT_SCHEMA_CLASS are in base.py.
"""

from .base import DEBUG

# WhiteNoise serves STATIC_ROOT, which the image fills with `collectstatic`; under
# `make run` (DEBUG) it reads the apps' static folders directly instead.
WHITENOISE_USE_FINDERS = DEBUG

SPECTACULAR_SETTINGS = {
    "TITLE": "authsvc",
    "VERSION": "0.1.0",
    "DESCRIPTION": "Generated from the DRF views, only to cross-check docs/openapi.yaml.",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # The docs page is public and reads no credentials: a stale access cookie must not
    # turn it into a 401.
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # "Try it out" sends the browser's cookies; Swagger UI adds X-CSRFToken from the
    # csrftoken cookie itself.
    "SWAGGER_UI_SETTINGS": {"withCredentials": True},
}
