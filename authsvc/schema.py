"""What drf-spectacular's generator needs to describe our views: the access-token
authentication as the security schemes docs/openapi.yaml names. The generated schema only
cross-checks docs/openapi.yaml (tests/authsvc/test_openapi_generated.py); it is not served.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from authsvc.api import SAFE_METHODS


class AccessTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "tokens.authentication.AccessTokenAuthentication"
    name = ["accessCookie", "csrfCookie", "csrfHeader", "bearerAuth"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "cookie", "name": "access_token"},
            {"type": "apiKey", "in": "cookie", "name": "csrftoken"},
            {"type": "apiKey", "in": "header", "name": "X-CSRFToken"},
            {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        ]

    def get_security_requirement(self, auto_schema):
        cookie = {"accessCookie": []}
        if auto_schema.method not in SAFE_METHODS:
            # A cookie can be sent by a hostile page, so writes by cookie need CSRF too.
            cookie = {**cookie, "csrfCookie": [], "csrfHeader": []}
        return [cookie, {"bearerAuth": []}]
