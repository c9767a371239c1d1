"""Password validators beyond Django's own: a length ceiling and breached passwords."""

import bisect
import functools
import gzip
import hashlib
import heapq
import itertools
import logging
from array import array
from pathlib import Path

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

logger = logging.getLogger(__name__)


class MaximumLengthValidator:
    """Refuse passwords longer than `max_length`; serializers enforce the same bound before
    the password is ever hashed."""

    def __init__(self, max_length: int = 1024):
        self.max_length = max_length

    def validate(self, password: str, user=None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                _("This password is too long; use at most %(max)d characters.")
                % {"max": self.max_length},
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return _("Your password can be at most %(max)d characters.") % {"max": self.max_length}


_BREACHED_LIST = Path(__file__).resolve().parent / "data" / "breached-passwords-top100k.txt.gz"
_HIBP_RANGE_URL = "https://api.pwnedpasswords.com/range/{}"
# Fingerprints sorted per run of this many lines, then merged (see below).
_SORT_RUN = 4096


def _fingerprint(password: str) -> int:
    # 64 bits of SHA-1: 800 KB for 100,000 passwords instead of ~10 MB of strings per worker.
    return int.from_bytes(hashlib.sha1(password.lower().encode()).digest()[:8], "big")  # noqa: S324


@functools.cache
def _breached_fingerprints() -> array:
    """The list's fingerprints, sorted, without duplicates; built on a worker's first check.

    Sorted in runs of _SORT_RUN packed into arrays, then merged: the build holds about twice
    the result (2 x 800 KB) where one `sorted()` of a set of 100,000 ints raised the
    worker's peak RSS by 10 MB and left 3 MB behind (docs/performance.md, "Memory")."""
    runs = []
    with gzip.open(_BREACHED_LIST, "rt", encoding="utf-8") as lines:
        while chunk := [
            _fingerprint(line.rstrip("\n")) for line in itertools.islice(lines, _SORT_RUN)
        ]:
            chunk.sort()
            runs.append(array("Q", chunk))
    fingerprints, previous = array("Q"), None
    for value in heapq.merge(*runs):
        if value != previous:
            fingerprints.append(value)
            previous = value
    return fingerprints


def breached_offline(password: str) -> bool:
    """Whether the password (in any case) is among the 100,000 most common breached ones."""
    fingerprints = _breached_fingerprints()
    wanted = _fingerprint(password)
    index = bisect.bisect_left(fingerprints, wanted)
    return index < len(fingerprints) and fingerprints[index] == wanted


def breached_count_hibp(password: str) -> int | None:
    """How often HaveIBeenPwned has seen the password, asked by k-anonymity (only the first
    5 hex digits of its SHA-1 leave the service, with padded answers); None when the API
    cannot be reached in time: the check then fails open, with a log line."""
    digest = hashlib.sha1(password.encode()).hexdigest().upper()  # noqa: S324 (HIBP's scheme)
    prefix, suffix = digest[:5], digest[5:]
    try:
        response = requests.get(
            _HIBP_RANGE_URL.format(prefix),
            headers={"Add-Padding": "true", "User-Agent": "authsvc"},
            timeout=settings.AUTHSVC_HIBP_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
    except requests.RequestException as exc:
        logger.warning("HaveIBeenPwned unavailable (%s); breached-password check skipped", exc)
        return None
    for line in response.text.splitlines():
        candidate, _, count = line.strip().partition(":")
        if candidate == suffix:
            return int(count or 0)
    return 0


class BreachedPasswordValidator:
    """Refuse passwords known from data breaches (NIST SP 800-63B 3.1.1.2): a shipped list of
    the 100,000 most common, and HaveIBeenPwned's range API when AUTHSVC_HIBP_ENABLED."""

    message = gettext_lazy("This password has appeared in data breaches; choose another.")

    def validate(self, password: str, user=None) -> None:
        if breached_offline(password):
            raise ValidationError(self.message, code="password_breached")
        if settings.AUTHSVC_HIBP_ENABLED and (breached_count_hibp(password) or 0) > 0:
            raise ValidationError(self.message, code="password_breached")

    def get_help_text(self) -> str:
        return _("Your password must not be one known from data breaches.")
