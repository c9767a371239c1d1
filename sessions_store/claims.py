"""The bounds of a session's claims, set by an authorization service.

Claims travel in every access token of the session, and the access token travels in a
cookie, which a browser keeps only up to 4096 bytes (name, value and attributes). The
contract allows at most 64 permissions and 2 KiB of attributes, but 64 long permissions
plus 2 KiB of attributes would make a cookie of about 6 KB, which a browser drops
silently, logging the user out at the next request. So the two share the contract's
2 KiB, `CLAIMS_MAX_BYTES`: attributes alone may take all of it, as the contract says,
and permissions what they leave. tests/sessions_store/test_claims_budget.py issues the
largest accepted claim set to a user with six roles, under long issuer, audience and
cookie domain, signed by authsvc's own RSA key, and checks the `Set-Cookie` header.
"""

import json
import math
import re
from dataclasses import dataclass

from sessions_store.exceptions import InvalidClaims

PERMISSIONS_MAX = 64
PERMISSION_MAX_LENGTH = 128
# No spaces, commas, quotes or backslashes: a permission joins into a space- or
# comma-separated header unambiguously and never needs escaping in JSON.
PERMISSION_PATTERN = re.compile(r"[A-Za-z0-9._:/*@+=-]+")
ATTRIBUTE_KEY_MAX_LENGTH = 128
# The token decoder refuses JSON nested deeper than tokens.backends.MAX_JSON_DEPTH (4):
# the payload is one level and `attrs` a second, so the attributes object counts as level 1
# here and may hold containers two levels deep, {"a": {"b": [1]}} but not {"a": {"b": [[1]]}}.
ATTRIBUTES_MAX_DEPTH = 3
# The permissions list and the attributes object, serialized as the token serializes them
# (compact, ASCII-escaped), together: the contract's 2 KiB, which leaves the cookie's 4096
# bytes room for authsvc's own signature (RS256, 342 characters), the header, the other
# claims with ~200 bytes of roles, and the cookie's attributes (docs/services.md).
CLAIMS_MAX_BYTES = 2048


@dataclass(frozen=True, slots=True)
class Claims:
    permissions: list[str]
    attributes: dict


def claims_json_size(value) -> int:
    """Bytes of `value` as the token carries it (PyJWT: compact, ensure_ascii)."""
    return len(json.dumps(value, separators=(",", ":")))


def claims_clean(*, permissions, attributes) -> Claims:
    """The claims as stored, or InvalidClaims naming what is out of bounds."""
    cleaned = _permissions_clean(permissions)
    attributes = _attributes_clean(attributes)
    # As the token carries them: an empty list or object is left out of it.
    size = sum(claims_json_size(value) for value in (cleaned, attributes) if value)
    if size > CLAIMS_MAX_BYTES:
        raise InvalidClaims(
            fields={
                "non_field_errors": [
                    f"Permissions and attributes together take {size} bytes; at most "
                    f"{CLAIMS_MAX_BYTES} fit in the access token's cookie."
                ]
            }
        )
    return Claims(permissions=cleaned, attributes=attributes)


def _permissions_clean(permissions) -> list[str]:
    if permissions is None:
        return []
    if not isinstance(permissions, list | tuple):
        raise _invalid("permissions", "A list of strings.")
    errors = {}
    for index, name in enumerate(permissions):
        if not isinstance(name, str) or not name:
            errors[f"permissions.{index}"] = ["A non-empty string."]
        elif len(name) > PERMISSION_MAX_LENGTH:
            errors[f"permissions.{index}"] = [f"At most {PERMISSION_MAX_LENGTH} characters."]
        elif not PERMISSION_PATTERN.fullmatch(name):
            errors[f"permissions.{index}"] = [
                "Only letters, digits and . _ : / * @ + = - are allowed."
            ]
    if errors:
        raise InvalidClaims(fields=errors)
    # A replayed or merged list may repeat names; the first occurrence keeps its place.
    unique = list(dict.fromkeys(permissions))
    if len(unique) > PERMISSIONS_MAX:
        raise _invalid("permissions", f"At most {PERMISSIONS_MAX} permissions.")
    return unique


def _attributes_clean(attributes) -> dict:
    if attributes is None:
        return {}
    if not isinstance(attributes, dict):
        raise _invalid("attributes", "A JSON object.")
    problem = _value_problem(attributes, depth=1)
    if problem:
        raise _invalid("attributes", problem)
    return attributes


def _value_problem(value, *, depth: int) -> str | None:
    """Why `value` (at nesting `depth`) cannot be an attribute, or None."""
    if isinstance(value, dict | list):
        if depth > ATTRIBUTES_MAX_DEPTH:
            return f"Nested at most {ATTRIBUTES_MAX_DEPTH} levels deep (the object included)."
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str) or not key:
                    return "Keys are non-empty strings."
                if len(key) > ATTRIBUTE_KEY_MAX_LENGTH:
                    return f"Keys are at most {ATTRIBUTE_KEY_MAX_LENGTH} characters."
            items = value.values()
        else:
            items = value
        for item in items:
            problem = _value_problem(item, depth=depth + 1)
            if problem:
                return problem
        return None
    if isinstance(value, float) and not math.isfinite(value):
        # The token decoder refuses NaN and Infinity.
        return "Numbers are finite."
    if value is None or isinstance(value, str | bool | int | float):
        return None
    return "Values are JSON: strings, numbers, booleans, null, lists and objects."


def _invalid(name: str, message: str) -> InvalidClaims:
    return InvalidClaims(fields={name: [message]})
