"""The signed-in user's sessions: a list, revoke one, and log out everywhere."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.response import Response

from authsvc.api import GenericViewSet
from authsvc.http import client_info
from authsvc.replica import replica
from authsvc.schema import CLEAR_AUTH_COOKIES, error, set_cookie
from sessions_store import services
from sessions_store.selectors import live_sessions
from sessions_store.serializers import SessionSerializer
from tokens.cookies import clear_auth_cookies


@extend_schema(tags=["sessions"])
class SessionViewSet(mixins.ListModelMixin, GenericViewSet):
    # `/auth/sessions/` (list), `/auth/sessions/<id>/` (destroy) on the router, and
    # `logout_all` routed by hand at `/auth/logout-all/`, outside the collection's URL.

    serializer_class = SessionSerializer
    lookup_url_kwarg = "session_id"
    lookup_value_converter = "uuid"
    pagination_class = None

    def get_queryset(self):
        # For display only: a replica may serve it (authsvc/replica.py); the revocations
        # below check and write on the primary.
        return live_sessions(self.request.user.id, using=replica())

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "current_sid": self.request.user.sid}

    @extend_schema(
        operation_id="sessionList",
        summary="The user's live sessions",
        description="Most recently used first.",
        responses={
            200: OpenApiResponse(
                SessionSerializer(many=True),
                description="The live (not revoked, not expired) sessions.",
            )
        },
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        operation_id="sessionRevoke",
        summary="End one of the user's sessions",
        description=(
            "The session's access tokens stop working at once. Ending the current session "
            "also clears the auth cookies."
        ),
        parameters=[
            set_cookie(
                "Both auth cookies cleared, when the session ended was the current one.", 204
            )
        ],
        responses={
            204: OpenApiResponse(description="Ended."),
            404: error(
                "No live session with this id belongs to the user (another user's session "
                "included).",
                "not_found",
            ),
        },
    )
    def destroy(self, request, session_id):
        # The service checks the session is the user's: another's is a 404 like a missing one.
        services.user_session_revoke(
            user_id=request.user.id, session_id=session_id, client=client_info(request)
        )
        response = Response(status=204)
        if str(session_id) == request.user.sid:
            clear_auth_cookies(response)
        return response

    @extend_schema(
        operation_id="logoutAll",
        summary="End every session of the user",
        description=(
            "The current one included; both auth cookies are cleared. No request body is read."
        ),
        request=None,
        parameters=[set_cookie(CLEAR_AUTH_COOKIES, 200)],
        responses={
            200: OpenApiResponse(
                inline_serializer(
                    "LoggedOutEverywhere",
                    {
                        "detail": serializers.CharField(),
                        "revoked": serializers.IntegerField(
                            min_value=0, help_text="How many sessions were ended."
                        ),
                    },
                ),
                description="Every session ended.",
            )
        },
    )
    def logout_all(self, request):
        count = services.user_logout_everywhere(
            user_id=request.user.id, client=client_info(request)
        )
        response = Response({"detail": "Logged out everywhere.", "revoked": count})
        clear_auth_cookies(response)
        return response
