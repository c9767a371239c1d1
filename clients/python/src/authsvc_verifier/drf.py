"""Django REST framework: authentication by Bearer token, and role, permission and scope
checks on the principal.

    class OrderView(APIView):
        authentication_classes = [AuthsvcAuthentication]
        permission_classes = [HasRole("admin") | HasPermission("orders:refund")]

`request.user` is the Principal, `request.auth` the raw token. The permission classes are
used as instances with names (`HasScope("orders:read")`), or as classes reading the view's
`required_roles` / `required_permissions` / `required_scopes`; several names all must hold.
"""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import (
    AND,
    NOT,
    OR,
    BasePermission,
    OperandHolder,
    SingleOperandHolder,
)

from authsvc_verifier.django import get_verifier
from authsvc_verifier.errors import AuthsvcUnavailable, InvalidToken
from authsvc_verifier.verifier import bearer_token


class Unavailable(exceptions.APIException):
    status_code = 503
    default_code = "unavailable"
    default_detail = "The authentication service is unavailable."


class AuthsvcAuthentication(BaseAuthentication):
    """A user's access token; `ServiceTokenAuthentication` for service tokens."""

    accept = ("access",)

    def authenticate(self, request):
        try:
            token = bearer_token(request.headers)
            if token is None:
                return None
            return get_verifier().verify(token, accept=self.accept), token
        except InvalidToken as error:
            raise exceptions.AuthenticationFailed(error.detail, code=error.code) from error
        except AuthsvcUnavailable as error:
            raise Unavailable(error.detail) from error

    def authenticate_header(self, request):
        return 'Bearer error="invalid_token"'


class ServiceTokenAuthentication(AuthsvcAuthentication):
    accept = ("service",)


class _Requires(BasePermission):
    attribute = ""
    code = "forbidden"

    def __init__(self, *names: str):
        self.names = frozenset(names)

    def __call__(self):
        # DRF instantiates each entry of permission_classes; an instance stands for itself,
        # which also lets DRF's operators (a holder instantiates its operands) combine them.
        return self

    def __and__(self, other):
        return OperandHolder(AND, self, other)

    def __or__(self, other):
        return OperandHolder(OR, self, other)

    def __rand__(self, other):
        return OperandHolder(AND, other, self)

    def __ror__(self, other):
        return OperandHolder(OR, other, self)

    def __invert__(self):
        return SingleOperandHolder(NOT, self)

    def has_permission(self, request, view):
        principal = request.user
        if not getattr(principal, "is_authenticated", False) or not hasattr(principal, "scopes"):
            return False
        needed = self.names or frozenset(getattr(view, self.attribute, ()))
        return bool(needed) and needed <= self.held(principal)

    def held(self, principal) -> frozenset[str]:
        raise NotImplementedError


class HasRole(_Requires):
    attribute, message = "required_roles", "This needs a role the user does not have."

    def held(self, principal):
        return principal.roles if not principal.is_service else frozenset()


class HasPermission(_Requires):
    attribute, message = "required_permissions", "This needs a permission the user lacks."

    def held(self, principal):
        return principal.permissions if not principal.is_service else frozenset()


class HasScope(_Requires):
    attribute, message = "required_scopes", "The service token lacks a required scope."
    code = "insufficient_scope"

    def held(self, principal):
        return principal.scopes if principal.is_service else frozenset()
