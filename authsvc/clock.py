"""The one source of "now" for expiry, grace windows and TOTP steps.

Services call `clock.now()` instead of `timezone.now()` so tests can move time
(`tests/conftest.py` has the `clock` fixture) without sleeping.
"""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
