"""The operators' API: list, read, ban and unban users. Admin role only."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from accounts import bans
from accounts.models import User
from accounts.permissions import HasRole
from accounts.roles import ADMIN_ROLE
from accounts.selectors import user_get, user_search
from accounts.serializers_admin import BanSerializer, OperatorUserSerializer
from authsvc.api import APIView
from authsvc.http import client_info


class UserPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class OperatorView(APIView):
    permission_classes = (HasRole(ADMIN_ROLE),)

    def operator(self, request) -> User:
        return User.objects.get(pk=request.user.id)


class UserListView(OperatorView):
    @extend_schema(
        operation_id="operatorUserList",
        parameters=[
            OpenApiParameter("search", str, description="Part of the email or the name."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses=OperatorUserSerializer(many=True),
    )
    def get(self, request):
        users = user_search(search=request.query_params.get("search", ""))
        paginator = UserPagination()
        page = paginator.paginate_queryset(users, request, view=self)
        return paginator.get_paginated_response(OperatorUserSerializer(page, many=True).data)


class UserDetailView(OperatorView):
    @extend_schema(operation_id="operatorUserGet", responses=OperatorUserSerializer)
    def get(self, request, user_id):
        return Response(OperatorUserSerializer(user_get(user_id=user_id)).data)


class UserBanView(OperatorView):
    @extend_schema(
        operation_id="operatorUserBan", request=BanSerializer, responses=OperatorUserSerializer
    )
    def post(self, request, user_id):
        data = BanSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bans.user_ban(
            user=user_get(user_id=user_id),
            by=self.operator(request),
            client=client_info(request),
            **data.validated_data,
        )
        return Response(OperatorUserSerializer(user_get(user_id=user_id)).data)


class UserUnbanView(OperatorView):
    @extend_schema(operation_id="operatorUserUnban", request=None, responses=OperatorUserSerializer)
    def post(self, request, user_id):
        bans.user_unban(
            user=user_get(user_id=user_id), by=self.operator(request), client=client_info(request)
        )
        return Response(OperatorUserSerializer(user_get(user_id=user_id)).data)
