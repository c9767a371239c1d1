"""What every page view shares: rendering, redirects after a POST, the `next` it carries."""

from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import render

from authsvc.http import response_no_store
from pages.next import safe_next


def page(request, template: str, context: dict | None = None, *, status: int = 200):
    """A page. None is cached: each shows who is signed in, or carries a form's secret."""
    response = render(request, template, context or {}, status=status)
    return response_no_store(response)


def see_other(url: str) -> HttpResponseRedirect:
    """Where a form's POST leads (303: the browser follows with a GET)."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response_no_store(response)


def next_from(request, default: str = "/account/") -> str:
    value = request.POST.get("next") if request.method == "POST" else request.GET.get("next")
    return safe_next(value, request, default=default)


def google_configured() -> bool:
    return bool(settings.GOOGLE_OAUTH_CLIENT_ID and settings.GOOGLE_OAUTH_CLIENT_SECRET)
