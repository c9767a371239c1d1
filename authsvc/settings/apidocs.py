"""The API docs: Swagger UI from drf-spectacular, its assets from drf-spectacular-sidecar
served by the service itself, never from a CDN.

The schema is generated from the code (`authsvc/schema/`, served by
`authsvc.apidocs`); `make schema` writes it to docs/openapi.yaml. The apps, WhiteNoise's
middleware and DRF's DEFAULT_SCHEMA_CLASS are in base.py.
"""

from .base import DEBUG

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
    # "Try it out" sends the browser's cookies; Swagger UI adds X-CSRFToken from the
    # csrftoken cookie itself.
    "SWAGGER_UI_SETTINGS": {"withCredentials": True},
}
