"""Facts about the client that sent a request, as services want them."""

from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.http import HttpRequest

USER_AGENT_MAX_LENGTH = 512


@dataclass(frozen=True, slots=True)
class ClientInfo:
    ip: str | None
    user_agent: str


def client_ip(request: HttpRequest) -> str | None:
    proxies = settings.AUTHSVC_TRUSTED_PROXY_COUNT
    if proxies:
        # Each trusted proxy appends the address it received from; the client's is the one
        # `proxies` hops from the right. Anything further left is client-controlled.
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def client_info(request: HttpRequest) -> ClientInfo:
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH]
    return ClientInfo(ip=client_ip(request), user_agent=user_agent)


def get_only(view):
    """Like Django's require_GET, but the refusal is the contract's JSON 405."""
    from django.http import JsonResponse

    from authsvc.errors import error_body

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            response = JsonResponse(error_body("method_not_allowed"), status=405)
            response["Allow"] = "GET, HEAD"
            return response
        return view(request, *args, **kwargs)

    return wrapper


def response_no_store(response):
    """Mark a response that carries a secret (tokens in cookies, a TOTP secret, backup codes,
    the caller's own profile) as never to be kept by a browser or a shared cache: a
    back button, a proxy or a disk cache would otherwise hand it to the next user."""
    # `no-store` alone forbids keeping it anywhere (RFC 9111 5.2.2.5); set, not merged, so no
    # view's `public` or `max-age` can survive beside it.
    response["Cache-Control"] = "no-store"
    return response


class NoStoreMixin:
    """For an APIView whose every answer carries a secret (see `response_no_store`)."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        return response_no_store(response)
