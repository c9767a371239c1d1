"""The generator: the failures the base classes produce, added to each DRF operation."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent, get_doc
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import IsAuthenticated

from authsvc.api import SAFE_METHODS
from authsvc.schema.document import CSRF
from authsvc.schema.responses import (
    CSRF_FAILED,
    INVALID_REQUEST,
    NOT_ADMIN,
    PAYLOAD_TOO_LARGE,
    STEP_UP_FORBIDDEN,
    UNAUTHENTICATED,
    UNSUPPORTED_MEDIA_TYPE,
    Reusable,
)

# --- The generator ------------------------------------------------------------------------


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema, plus the failures our base classes produce, so no
    operation has to repeat them: an operation's own `responses` win for a status code."""

    def _inherited_errors(self, *, has_body: bool) -> dict[str, OpenApiResponse]:
        from accounts.permissions import RecentAuthentication
        from authsvc.api import RequestChecksMixin

        permissions = [type(p) for p in self.view.get_permissions()]
        has_role = any(p.__name__.startswith("HasRole(") for p in permissions)
        errors = {}
        # The service doors (tokens.service_auth) are not cookie-authenticated, take forms
        # and check no CSRF; the OAuth token endpoint answers in RFC 6749's shape.
        checked = isinstance(self.view, RequestChecksMixin)
        if self.method not in SAFE_METHODS and checked:
            # authsvc.api.RequestChecksMixin: form bodies, then CSRF, on every write.
            errors["403"] = CSRF_FAILED
            errors["415"] = UNSUPPORTED_MEDIA_TYPE
        if has_body:
            # The serializer's validation, and authsvc.parsers' bound.
            errors["400"] = INVALID_REQUEST
            if not getattr(self.view, "oauth_errors", False):
                errors["413"] = PAYLOAD_TOO_LARGE
        if IsAuthenticated in permissions or has_role:
            errors["401"] = UNAUTHENTICATED
        if has_role:
            errors["403"] = NOT_ADMIN
        if RecentAuthentication in permissions and self.method not in SAFE_METHODS:
            errors["403"] = STEP_UP_FORBIDDEN
        return errors

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        inherited = self._inherited_errors(has_body="requestBody" in operation)
        for code, response in inherited.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def get_description(self):
        # The handler's docstring only: a view class's is for the people reading the code.
        handler = getattr(self.view, getattr(self.view, "action", None) or self.method.lower())
        return get_doc(handler)

    def _get_response_for_code(
        self, serializer, status_code, media_types=None, direction="response"
    ):
        if not isinstance(serializer, Reusable):
            return super()._get_response_for_code(serializer, status_code, media_types, direction)
        body = super()._get_response_for_code(
            OpenApiResponse(serializer.response, serializer.description, serializer.examples),
            status_code,
            media_types,
            direction,
        )
        if serializer.headers:
            body = {"headers": serializer.headers, **body}
        component = ResolvedComponent(
            name=serializer.name, type=ResolvedComponent.RESPONSE, schema=body, object=serializer
        )
        self.registry.register_on_missing(component)
        return component.ref

    def get_auth(self):
        if self.view.get_authenticators():
            return super().get_auth()
        # A public endpoint: its writes still need the CSRF pair (authsvc.api.csrf_required).
        return [CSRF] if self.method not in SAFE_METHODS else []
