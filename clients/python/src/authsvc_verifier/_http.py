"""A small HTTP client on urllib: bounded time, bounded bodies, no redirects (a redirect
would carry this service's credential, or its trust in a key set, to another origin)."""

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message

MAX_BODY_BYTES = 1 << 20


class TransportError(Exception):
    """No answer: refused, timed out, reset, or a body we cannot read."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise TransportError(f"the answer is not JSON (HTTP {self.status})") from exc


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects())


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    timeout: float,
) -> Answer:
    data = None
    headers = dict(headers or {})
    headers.setdefault("Accept", "application/json")
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    prepared = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        try:
            with _opener.open(prepared, timeout=timeout) as response:
                return Answer(response.status, response.headers, _read(response))
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, error.headers, _read(error))
    except (OSError, ValueError) as exc:  # URLError, timeouts, resets, bad status lines
        raise TransportError(str(exc)) from exc


def _read(response) -> bytes:
    body = response.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise TransportError("the answer is larger than expected")
    return body
