"""The kinds of mail and their builders: the apps above register theirs (accounts in its
`AppConfig.ready`), so the queue sends their mail without importing them.

A builder takes a row's `params` and returns a `Built`: the message, or None when there is
nothing to send any more. It runs on the worker, in the transaction that then marks the row,
so it sees the accounts as they are when the mail goes, not as they were when it was queued.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.mail import EmailMessage


@dataclass(frozen=True, slots=True)
class Built:
    message: EmailMessage | None
    # Runs once, in the transaction that marks the row sent or skipped (an audit event).
    after: Callable[[], None] | None = None
    # Why there is no message, shown as the skipped row's last error.
    reason: str = ""


class UnknownMailKind(LookupError):
    pass


_builders: dict[str, Callable[[dict], Built]] = {}


def mail_kind_register(kind: str, build: Callable[[dict], Built]) -> None:
    if len(kind) > 40:
        raise ValueError(f"mail kind {kind!r} is longer than 40 characters")
    _builders[kind] = build


def mail_kinds() -> frozenset[str]:
    return frozenset(_builders)


def mail_build(kind: str, params: dict) -> Built:
    try:
        build = _builders[kind]
    except KeyError:
        raise UnknownMailKind(f"no builder for mail kind {kind!r}") from None
    return build(params)
