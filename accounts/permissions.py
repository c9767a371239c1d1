"""DRF permissions read from the session snapshot (`request.user` is a SessionPrincipal)."""

from rest_framework.permissions import BasePermission


def HasRole(*roles: str) -> type[BasePermission]:
    """`permission_classes = (HasRole("admin"),)`: any one of `roles` lets the request in.

    A factory, because DRF instantiates permission classes without arguments.
    """
    wanted = frozenset(roles)

    class _HasRole(BasePermission):
        def has_permission(self, request, view) -> bool:
            user = request.user
            if user is None or not getattr(user, "is_authenticated", False):
                return False
            return bool(wanted & set(getattr(user, "roles", ())))

    _HasRole.__name__ = _HasRole.__qualname__ = f"HasRole({', '.join(sorted(wanted))})"
    return _HasRole
