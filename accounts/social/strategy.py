"""Where social-auth keeps the flow's state between /auth/google/ and the callback.

Not in Django's session: that cookie is the admin's (Path=/admin/, SameSite=Strict, so
it would not even come back from Google). The state, the PKCE verifier and a pending link
live in a signed cookie of their own, `google_oauth` (HttpOnly, SameSite=Lax so the
redirect back from Google carries it, Path=/auth/google/, ten minutes).
"""

from django.conf import settings
from django.core import signing
from django.http import HttpResponse
from social_django.strategy import DjangoStrategy

from tokens.cookies import expire_cookie, set_cookie

FLOW_COOKIE = "google_oauth"
FLOW_COOKIE_PATH = "/auth/google/"
_SALT = "authsvc.google.flow"


class FlowState(dict):
    modified = False

    def __setitem__(self, key, value):
        self.modified = True
        super().__setitem__(key, value)

    def pop(self, key, default=None):
        if key in self:
            self.modified = True
        return super().pop(key, default)

    def setdefault(self, key, default=None):
        if key not in self:
            self.modified = True
        return super().setdefault(key, default)


def flow_state_load(raw: str | None) -> FlowState:
    if not raw or len(raw) > 4096:
        return FlowState()
    try:
        data = signing.loads(raw, salt=_SALT, max_age=settings.AUTHSVC_GOOGLE_FLOW_TTL_SECONDS)
    except signing.BadSignature:
        return FlowState()
    return FlowState(data) if isinstance(data, dict) else FlowState()


def flow_state_save(response: HttpResponse, state: FlowState) -> None:
    if not state.modified:
        return
    if not state:
        flow_state_clear(response)
        return
    set_cookie(
        response,
        FLOW_COOKIE,
        signing.dumps(dict(state), salt=_SALT, compress=True),
        max_age=settings.AUTHSVC_GOOGLE_FLOW_TTL_SECONDS,
        path=FLOW_COOKIE_PATH,
        samesite="Lax",
    )


def flow_state_clear(response: HttpResponse) -> None:
    expire_cookie(response, FLOW_COOKIE, path=FLOW_COOKIE_PATH, samesite="Lax")


class FlowCookieStrategy(DjangoStrategy):
    def __init__(self, storage, request=None, tpl=None):
        super().__init__(storage, request, tpl)
        self.session = flow_state_load(request.COOKIES.get(FLOW_COOKIE) if request else None)

    def session_set(self, name, value):
        self.session[name] = value
