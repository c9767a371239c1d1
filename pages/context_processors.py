from functools import partial

from pages.auth import page_user
from pages.branding import brand


def site(request):
    """The service's name and colours, and who is signed in (looked up only by a template
    that asks: templates call a callable), on every template rendered with a request."""
    if request is None:
        return brand()
    return {**brand(), "page_user": partial(page_user, request)}
