"""The floors `make bench` measures every endpoint against, and the references beside
them (the least each endpoint could do); mounted only with AUTHSVC_BENCH.

Served by the same process, middleware and settings as the real endpoints, so the ratio of
an endpoint to its floor is what the endpoint's own work costs.
"""

from types import SimpleNamespace

from django.contrib.auth.hashers import check_password
from django.db import connection, transaction
from django.http import JsonResponse
from django_redis import get_redis_connection
from rest_framework.response import Response
from rest_framework.views import APIView

from authsvc import clock
from sessions_store.backends.redis import SESSION_KEY, TOMBSTONE
from tokens.access import access_token_issue
from tokens.backends import get_token_backend
from tokens.cookies import REFRESH_COOKIE, set_auth_cookies
from tokens.refresh import refresh_token_hash, refresh_token_successor


def json_floor(request):
    return JsonResponse({"hello": "world"})


class DrfFloor(APIView):
    authentication_classes = ()
    permission_classes = ()
    schema = None  # a measuring stick, not part of the API: no OpenAPI operation

    def get(self, request):
        return Response({"hello": "world"})


# The references: the least each measured endpoint could do and still be that endpoint,
# with the same libraries, process and middleware. They put the targets in scale: a target
# above its reference is out of reach for any implementation on this stack and machine,
# whatever the service itself does. None of them is safe to serve (no rate limit, no
# lockout, no audit, no session bookkeeping): they are mounted only with AUTHSVC_BENCH.


class LeastLogin(APIView):
    """A password check and nothing else: the user's hash by one SELECT, the verify on the
    hashing pool, 200 or 401. No session, no tokens, no cookies."""

    authentication_classes = ()
    permission_classes = ()
    schema = None

    def post(self, request):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT password FROM accounts_user WHERE email = %s", [request.data["email"]]
            )
            row = cursor.fetchone()
        if row is None or not check_password(request.data["password"], row[0]):
            return Response(status=401)
        return Response({})


TOMBSTONE_BYTES = TOMBSTONE.encode()


class LeastSelf(APIView):
    """An access token checked (the service's own strict verify) and its session looked up
    by one Redis GET (absent or a tombstone: 401). No revocation list, no snapshot decode,
    no serializer."""

    authentication_classes = ()
    permission_classes = ()
    schema = None

    def get(self, request):
        claims = get_token_backend().decode(request.META["HTTP_AUTHORIZATION"][len("Bearer ") :])
        cached = get_redis_connection("default").get(SESSION_KEY.format(claims["sid"]))
        if cached is None or cached == TOMBSTONE_BYTES:
            return Response(status=401)
        return Response({"id": claims["sub"]})


class LeastRefresh(APIView):
    """A rotation in one transaction (the presented token marked used if unused, its
    successor inserted), a new access token signed, both cookies set. No reuse detection,
    no session extension, no snapshot, no limits."""

    authentication_classes = ()
    permission_classes = ()
    schema = None

    def post(self, request):
        raw, now = request.COOKIES[REFRESH_COOKIE], clock.now()
        successor = refresh_token_successor(raw)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE tokens_refreshtoken SET used_at = %s"
                " WHERE token_hash = %s AND used_at IS NULL AND expires_at > %s"
                " RETURNING id, session_id, expires_at",
                [now, refresh_token_hash(raw), now],
            )
            row = cursor.fetchone()
            if row is None:
                return Response(status=401)
            token_id, session_id, expires_at = row
            cursor.execute(
                "INSERT INTO tokens_refreshtoken"
                " (session_id, token_hash, parent_id, created_at, expires_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                [session_id, refresh_token_hash(successor), token_id, now, expires_at],
            )
        access, _ = access_token_issue(
            user_id="00000000-0000-0000-0000-000000000000",
            sid=str(session_id),
            roles=[],
            email_verified=True,
            amr=["pwd"],
        )
        response = Response({})
        set_auth_cookies(
            response,
            SimpleNamespace(
                access_token=access, refresh_token=successor, refresh_expires_at=expires_at
            ),
        )
        return response
