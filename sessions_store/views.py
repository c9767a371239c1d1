from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from authsvc.api import APIView
from authsvc.http import client_info
from sessions_store import services
from sessions_store.selectors import live_sessions
from sessions_store.serializers import SessionSerializer
from tokens.cookies import clear_auth_cookies


class SessionListView(APIView):
    @extend_schema(responses=SessionSerializer(many=True))
    def get(self, request):
        sessions = live_sessions(request.user.id)
        context = {"current_sid": request.user.sid}
        return Response(SessionSerializer(sessions, many=True, context=context).data)


class SessionDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, session_id):
        services.user_session_revoke(
            user_id=request.user.id, session_id=session_id, client=client_info(request)
        )
        response = Response(status=204)
        if str(session_id) == request.user.sid:
            clear_auth_cookies(response)
        return response


class LogoutAllView(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer(
            "LoggedOutEverywhere",
            {"detail": serializers.CharField(), "revoked": serializers.IntegerField(min_value=0)},
        ),
    )
    def post(self, request):
        count = services.user_logout_everywhere(
            user_id=request.user.id, client=client_info(request)
        )
        response = Response({"detail": "Logged out everywhere.", "revoked": count})
        clear_auth_cookies(response)
        return response
