"""Views for the integration tests (ROOT_URLCONF), and the verifier the settings name."""

from django.http import JsonResponse
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from authsvc_verifier.drf import (
    AuthsvcAuthentication,
    HasPermission,
    HasRole,
    HasScope,
    ServiceTokenAuthentication,
)

current = {}


def verifier():
    return current["verifier"]


def whoami(request):
    principal = request.auth_principal
    return JsonResponse({"sub": principal.subject if principal else None})


class UserView(APIView):
    authentication_classes = [AuthsvcAuthentication]
    permission_classes = [HasRole("user")]

    def get(self, request):
        return Response({"sub": request.user.subject, "sid": request.user.session_id})


class RefundView(APIView):
    authentication_classes = [AuthsvcAuthentication]
    permission_classes = [HasRole("admin") | HasPermission("orders:refund")]

    def get(self, request):
        return Response({"ok": True})


class ServiceView(APIView):
    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [HasScope]
    required_scopes = ["orders:read"]

    def get(self, request):
        return Response({"client_id": request.user.client_id})


urlpatterns = [
    path("whoami/", whoami),
    path("user/", UserView.as_view()),
    path("refund/", RefundView.as_view()),
    path("service/", ServiceView.as_view()),
]
