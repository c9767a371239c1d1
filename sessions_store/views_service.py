"""The service door to sessions: an authorization service sets a session's claims."""

import uuid

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from authsvc.http import client_info
from authsvc.parsers import BoundedJSONParser
from authsvc.schema import error
from sessions_store.serializers import SessionClaimsResponseSerializer, SessionClaimsSerializer
from sessions_store.services import session_claims_set
from tokens.service_auth import ServiceAPIView
from tokens.service_clients import SCOPE_SESSION_CLAIMS


@extend_schema(tags=["services"])
class SessionClaimsView(ServiceAPIView):
    required_scope = SCOPE_SESSION_CLAIMS
    # Attributes are a JSON object: a form body could not carry them.
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        operation_id="sessionClaimsSet",
        summary="Set a session's permissions and attributes (authorization services)",
        request=SessionClaimsSerializer,
        responses={
            200: OpenApiResponse(
                SessionClaimsResponseSerializer, description="The claims as stored."
            ),
            400: error(
                "A field of the wrong type, out of bounds, or unknown; `fields` names it.",
                "invalid_request",
            ),
            401: error(
                "No service credential, or a wrong, disabled or other-audience one; a user's "
                "access token is never one.",
                "invalid_client",
            ),
            403: error("The credential lacks the `sessions:claims` scope.", "insufficient_scope"),
            404: error("No live session has this id (unknown, revoked or expired).", "not_found"),
        },
    )
    def put(self, request, sid):
        """Replaces the session's whole claim set: a field left out is emptied. Introspection
        and authsvc's own checks see the new claims at once; the session's access tokens
        carry them (`permissions`, `attrs`, left out when empty) from its next refresh. The
        caller authenticates as a service client with the `sessions:claims` scope: a
        service token for authsvc's audience, or HTTP Basic. Call it when a
        `session.created` event arrives, and again whenever the user's grants change."""
        serializer = SessionClaimsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        claims = session_claims_set(
            sid=sid,
            permissions=serializer.validated_data.get("permissions"),
            attributes=serializer.validated_data.get("attributes"),
            client_id=request.user.client_id,
            client=client_info(request),
        )
        return Response(
            {
                "sid": str(uuid.UUID(sid)),
                "permissions": claims.permissions,
                "attributes": claims.attributes,
            }
        )
