"""The operators' API: list, read, ban and unban users. Admin role only."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import filters
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from accounts import bans
from accounts.models import User
from accounts.permissions import HasRole
from accounts.roles import ADMIN_ROLE
from accounts.selectors import user_get, users_for_operators
from accounts.serializers_admin import BanSerializer, OperatorUserSerializer
from authsvc.api import ReadOnlyModelViewSet
from authsvc.http import client_info
from authsvc.schema import USER_NOT_FOUND, error


class UserPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class UserSearch(filters.SearchFilter):
    """`?search=` matches a part of the email or the name, case-insensitively: the whole
    value is one term (DRF's own would split it at spaces)."""

    search_description = "Part of the email or the name."

    def get_search_terms(self, request):
        term = request.query_params.get(self.search_param, "").strip()
        return [term] if term else []


@extend_schema_view(
    list=extend_schema(
        operation_id="operatorUserList",
        summary="List and search users (admin role)",
        description=(
            "Newest accounts first, 50 per page (`page_size` up to 200). `search` matches a "
            "part of the email or the name, case-insensitively. Only users with the `admin` "
            "role (a Django group; see `manage.py set_roles`) may call it."
        ),
        responses={
            200: OpenApiResponse(
                OperatorUserSerializer(many=True), description="One page of users."
            ),
            404: error("`not_found`: a page number past the last page.", "not_found"),
        },
    ),
    retrieve=extend_schema(
        operation_id="operatorUser",
        summary="One user (admin role)",
        responses={
            200: OpenApiResponse(OperatorUserSerializer, description="The user."),
            404: USER_NOT_FOUND,
        },
    ),
)
@extend_schema(tags=["operators"])
class UserViewSet(ReadOnlyModelViewSet):
    # `/auth/users/`, `/auth/users/<id>/`, and the `ban` / `unban` actions on one user.

    permission_classes = (HasRole(ADMIN_ROLE),)
    serializer_class = OperatorUserSerializer
    pagination_class = UserPagination
    filter_backends = (UserSearch,)
    search_fields = ("email", "name")
    lookup_url_kwarg = "user_id"
    lookup_value_converter = "uuid"

    def get_queryset(self):
        return users_for_operators()

    def get_object(self) -> User:
        return user_get(user_id=self.kwargs["user_id"])

    def operator(self) -> User:
        return User.objects.get(pk=self.request.user.id)

    @extend_schema(
        operation_id="operatorUserBan",
        summary="Ban a user (admin role)",
        description=(
            "Login is refused from now on (`403 account_disabled` after a correct password) "
            "and every session of the user ends at once: their access tokens are refused on "
            "the next request and their refresh tokens too. Without `until` the ban is "
            "permanent; with it, the ban lifts itself at that time. Banning a banned user "
            "replaces the reason and the end."
        ),
        request=BanSerializer,
        responses={
            200: OpenApiResponse(OperatorUserSerializer, description="The banned user."),
            404: USER_NOT_FOUND,
            409: error(
                "`cannot_ban_self`: operators cannot ban their own account.", "cannot_ban_self"
            ),
        },
    )
    @action(detail=True, methods=["post"], name="User Ban")
    def ban(self, request, user_id):
        data = BanSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bans.user_ban(
            user=self.get_object(),
            by=self.operator(),
            client=client_info(request),
            **data.validated_data,
        )
        return Response(OperatorUserSerializer(self.get_object()).data)

    @extend_schema(
        operation_id="operatorUserUnban",
        summary="Lift a user's ban (admin role)",
        description=(
            "The user may log in again; the sessions the ban ended stay ended. Unbanning a "
            "user who is not banned changes nothing. No request body is read."
        ),
        request=None,
        responses={
            200: OpenApiResponse(OperatorUserSerializer, description="The user, no longer banned."),
            404: USER_NOT_FOUND,
        },
    )
    @action(detail=True, methods=["post"], name="User Unban")
    def unban(self, request, user_id):
        bans.user_unban(user=self.get_object(), by=self.operator(), client=client_info(request))
        return Response(OperatorUserSerializer(self.get_object()).data)
