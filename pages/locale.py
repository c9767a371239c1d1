"""The pages' language: Django's LocaleMiddleware, for the page routes only.

The language cookie (the switcher's), then `Accept-Language`, then LANGUAGE_CODE. Decided in
`process_view`, once the route is known, so the API (and its `Vary`) stays exactly as it
was: its JSON speaks English, whatever the browser asks for."""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers


def _is_page(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and "pages" in match.app_names


class PageLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        # Every request starts in the default language: the activation is per thread, and
        # the page a worker served before must not leak its language into an API answer.
        translation.activate(settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = settings.LANGUAGE_CODE

    def process_view(self, request, view_func, view_args, view_kwargs):
        if _is_page(request):
            super().process_request(request)
        return None

    def process_response(self, request, response):
        if not _is_page(request):
            return response
        # No i18n_patterns here: the parent's 404 redirect to a prefixed path never applies.
        language = translation.get_language()
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        return response
