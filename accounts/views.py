from dataclasses import replace

from django.middleware.csrf import get_token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from accounts import services
from accounts.serializers import (
    LoginSerializer,
    ProfileSerializer,
    ProfileUpdateSerializer,
    RegisterSerializer,
)
from authsvc.api import APIView
from authsvc.http import client_info
from tokens.cookies import set_auth_cookies


class CsrfView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def get(self, request):
        # get_token marks the cookie for CsrfViewMiddleware to set on the response.
        return Response({"csrfToken": get_token(request._request)})


class RegisterView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def post(self, request):
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.user_register(**data.validated_data, client=client_info(request))
        response = Response({"id": issued.user_id}, status=201)
        set_auth_cookies(response, issued)
        return response


class LoginView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def post(self, request):
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.user_login(**data.validated_data, client=client_info(request))
        response = Response({"id": issued.user_id})
        set_auth_cookies(response, issued)
        return response


class SelfView(APIView):
    def get(self, request):
        return Response(ProfileSerializer(request.user.snapshot).data)

    def patch(self, request):
        data = ProfileUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_profile_update(user_id=request.user.id, **data.validated_data)
        return Response(ProfileSerializer(replace(request.user.snapshot, name=user.name)).data)
