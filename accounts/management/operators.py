"""What the operators' commands share: finding the user, reading a ban's end."""

import re
from datetime import datetime, timedelta

from django.core.management.base import CommandError
from django.utils.dateparse import parse_datetime

from accounts.emails import normalize_email
from accounts.exceptions import InvalidRequest
from accounts.models import User
from authsvc import clock

_DURATION = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def user_by_email(email: str) -> User:
    user = User.objects.filter(email=normalize_email(email)).first()
    if user is None:
        raise CommandError(f"No user with the email {email!r}.")
    return user


def parse_until(value: str | None) -> datetime | None:
    """`7d`, `12h`, `30m`, `2w` from now, or an ISO 8601 date-time (UTC unless it says)."""
    if value is None:
        return None
    match = _DURATION.match(value.strip())
    if match:
        return clock.now() + timedelta(**{_UNITS[match[2]]: int(match[1])})
    moment = parse_datetime(value.strip())
    if moment is None:
        raise CommandError(
            f"--until {value!r} is neither a duration (30m, 12h, 7d, 2w) nor an ISO 8601 "
            "date-time (2026-12-31T18:00:00Z)."
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.now().tzinfo)
    return moment


def service_error_message(exc: InvalidRequest) -> str:
    if exc.fields:
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.fields.items())
    return exc.detail
