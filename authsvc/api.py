"""The base classes of every API view and viewset: JSON bodies only, and CSRF on every
write a cookie could authenticate."""

import copy

from django.http import QueryDict
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.datastructures import MultiValueDict
from rest_framework import exceptions, mixins, viewsets
from rest_framework.metadata import SimpleMetadata
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView as DRFAPIView

from tokens.authentication import bearer_token
from tokens.cookies import ACCESS_COOKIE, REFRESH_COOKIE

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# The bodies Django parses into request.POST, which its CSRF check reads for a form token.
FORM_MEDIA_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


class _CSRFCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


def csrf_required(request) -> bool:
    """Unsafe requests need CSRF unless they authenticate by Bearer header alone.

    A cookie-less request without a Bearer header (login, register) still needs it: login
    CSRF would otherwise let a hostile page sign the victim into the attacker's account.
    """
    if request.method in SAFE_METHODS:
        return False
    if auth_cookie_sent(request):
        return True
    return bearer_token(request) is None


def auth_cookie_sent(request) -> bool:
    cookies = request.COOKIES
    return ACCESS_COOKIE in cookies or REFRESH_COOKIE in cookies


def enforce_csrf(request, *, method: str | None = None) -> None:
    """Django's CSRF check (the X-CSRFToken header against the csrftoken cookie, and the
    Origin or Referer), or PermissionDenied marked `csrf`, which the handler answers as
    `403 csrf_failed`.

    `method`: check as for a request of that method, for a gateway asking about another
    request (`/auth/forward-auth/`). The token then comes from the header alone: the body,
    if any, belongs to that other request, and Django would read a POST's form body for it.
    """
    if method is not None:
        request = copy.copy(request)
        request.method = method
        request._post, request._files = QueryDict(), MultiValueDict()
    check = _CSRFCheck(lambda req: None)
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason:
        exc = exceptions.PermissionDenied(f"CSRF verification failed: {reason}")
        exc.csrf = True
        raise exc


def refuse_form_body(request) -> None:
    """Every body here is JSON. A form body is refused before the CSRF check would parse
    it: a malformed multipart body raised a 500 there, and a multipart upload was streamed
    to temporary files before DRF's parser got to refuse it."""
    if request.method not in SAFE_METHODS and request.content_type in FORM_MEDIA_TYPES:
        raise exceptions.UnsupportedMediaType(request.content_type)


class RequestChecksMixin:
    """The checks every endpoint runs before DRF authenticates the request; mixed into
    `APIView` and the viewsets alike, ahead of DRF's class."""

    def initial(self, request, *args, **kwargs):
        refuse_form_body(request._request)
        # Before authentication, so a forged write learns nothing about the session.
        if csrf_required(request._request):
            enforce_csrf(request._request)
        super().initial(request, *args, **kwargs)


class APIView(RequestChecksMixin, DRFAPIView):
    pass


class ViewSetMetadata(SimpleMetadata):
    """OPTIONS on a viewset answers like on an APIView: no description of the serializer's
    fields as a form (DRF's browsable-API hint), which the API views never gave."""

    def determine_actions(self, request, view):
        return {}


class GenericViewSet(RequestChecksMixin, viewsets.GenericViewSet):
    metadata_class = ViewSetMetadata


class ReadOnlyModelViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, GenericViewSet):
    pass


class PublicAPIView(APIView):
    """An endpoint that takes no access token (login, register, refresh, ...); CSRF still
    applies to its writes."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
