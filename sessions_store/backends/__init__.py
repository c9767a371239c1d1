"""Session store backends: one interface (`base.SessionStore`), Redis and in-process."""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from sessions_store.backends.base import SessionStore


@cache
def _store(path: str) -> SessionStore:
    return import_string(path)()


def get_session_store() -> SessionStore:
    return _store(settings.AUTHSVC_SESSION_STORE)
