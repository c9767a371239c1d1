"""DRF permissions read from the session snapshot (`request.user` is a SessionPrincipal)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated

from accounts.reauth import recent_auth_require


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


class RecentAuthentication(BasePermission):
    """Writes need a session that proved a factor within AUTHSVC_REAUTH_MAX_AGE_SECONDS
    (`403 reauth_required`, before the view changes anything); reads pass. After
    IsAuthenticated, so a request without a session is still a 401."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        recent_auth_require(user.snapshot)
        return True


# The permission_classes of the step-up endpoints.
STEP_UP = (IsAuthenticated, RecentAuthentication)
