"""The bounds of session claims (sessions_store/claims.py): each limit just under and just
over, through the service an authorization service's request reaches."""

import json

import pytest

from sessions_store.claims import (
    ATTRIBUTE_KEY_MAX_LENGTH,
    ATTRIBUTES_MAX_DEPTH,
    CLAIMS_MAX_BYTES,
    PERMISSION_MAX_LENGTH,
    PERMISSIONS_MAX,
    claims_json_size,
)
from sessions_store.exceptions import InvalidClaims
from sessions_store.models import Session
from sessions_store.services import session_claims_set
from tokens.backends import MAX_JSON_DEPTH

pytestmark = pytest.mark.django_db


@pytest.fixture
def claims_set(logged_in):
    sid = Session.objects.get().pk

    def set_claims(permissions=None, attributes=None):
        return session_claims_set(
            sid=sid, permissions=permissions, attributes=attributes, client_id="svc_test"
        )

    return set_claims


def _refused(call, field: str) -> list[str]:
    with pytest.raises(InvalidClaims) as caught:
        call()
    assert caught.value.code == "invalid_request"
    assert field in caught.value.fields, caught.value.fields
    return caught.value.fields[field]


def test_at_most_64_distinct_permissions(claims_set):
    names = [f"p{i}" for i in range(PERMISSIONS_MAX + 1)]

    assert claims_set(names[:PERMISSIONS_MAX]).permissions == names[:PERMISSIONS_MAX]
    _refused(lambda: claims_set(names), "permissions")
    # Repeats do not count: 65 names of which 64 differ is 64 permissions.
    assert len(claims_set([*names[:PERMISSIONS_MAX], "p0"]).permissions) == PERMISSIONS_MAX


def test_duplicates_are_removed_keeping_the_first_place(claims_set):
    claims = claims_set(["b:write", "a:read", "b:write", "c", "a:read"])

    assert claims.permissions == ["b:write", "a:read", "c"]
    assert Session.objects.get().permissions == ["b:write", "a:read", "c"]


def test_a_permission_is_at_most_128_characters(claims_set):
    longest = "x" * PERMISSION_MAX_LENGTH

    assert claims_set([longest]).permissions == [longest]
    _refused(lambda: claims_set(["ok", longest + "x"]), "permissions.1")


@pytest.mark.parametrize(
    "name", ["", "orders read", "a,b", 'say"hi"', "back\\slash", "caf\u00e9", "tab\t", 7, None]
)
def test_a_permission_is_a_non_empty_string_of_the_allowed_characters(claims_set, name):
    _refused(lambda: claims_set(["fine", name]), "permissions.1")


def test_the_allowed_characters(claims_set):
    names = ["orders:read", "repo/acme.web:write", "*", "billing@eu", "a+b=c", "x_y-z"]

    assert claims_set(names).permissions == names


@pytest.mark.parametrize("value", ["orders:read", {"orders": True}, 3])
def test_permissions_are_a_list(claims_set, value):
    _refused(lambda: claims_set(value), "permissions")


@pytest.mark.parametrize("value", [["a"], "tier", 3, True])
def test_attributes_are_an_object(claims_set, value):
    _refused(lambda: claims_set(attributes=value), "attributes")


def test_attributes_nest_as_deep_as_the_token_decoder_accepts(claims_set):
    # The payload is one level and `attrs` a second (tokens.backends.MAX_JSON_DEPTH).
    assert ATTRIBUTES_MAX_DEPTH == MAX_JSON_DEPTH - 1
    deepest = {"org": {"teams": ["a", "b"]}, "flags": [{"beta": True}]}

    assert claims_set(attributes=deepest).attributes == deepest
    _refused(lambda: claims_set(attributes={"org": {"teams": [["a"]]}}), "attributes")
    _refused(lambda: claims_set(attributes={"a": [{"b": {}}]}), "attributes")


def test_attribute_keys_are_non_empty_bounded_strings(claims_set):
    longest = "k" * ATTRIBUTE_KEY_MAX_LENGTH

    assert claims_set(attributes={longest: 1}).attributes == {longest: 1}
    _refused(lambda: claims_set(attributes={longest + "k": 1}), "attributes")
    _refused(lambda: claims_set(attributes={"": 1}), "attributes")
    _refused(lambda: claims_set(attributes={"a": {"": 1}}), "attributes")
    _refused(lambda: claims_set(attributes={1: "x"}), "attributes")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1, 2}, b"raw", object()])
def test_attribute_values_are_json_the_token_accepts(claims_set, value):
    _refused(lambda: claims_set(attributes={"a": {"b": value}}), "attributes")


def _filling(permissions: list[str], size: int) -> dict:
    """Attributes that bring the claims to exactly `size` bytes."""
    attributes = {"pad": ""}
    attributes["pad"] = "v" * (size - claims_json_size(permissions) - claims_json_size(attributes))
    assert claims_json_size(permissions) + claims_json_size(attributes) == size
    return attributes


def test_attributes_alone_may_take_the_contracts_2_kib(claims_set):
    # {"pad":"vvv..."}: 10 bytes around the value.
    exact = claims_set([], {"pad": "v" * (2048 - 10)})
    assert claims_json_size(exact.attributes) == 2048
    _refused(lambda: claims_set([], {"pad": "v" * (2049 - 10)}), "non_field_errors")


def test_permissions_and_attributes_together_are_at_most_2_kib(claims_set):
    permissions = [f"service-{i:02}:read" for i in range(PERMISSIONS_MAX)]

    exact = claims_set(permissions, _filling(permissions, CLAIMS_MAX_BYTES))
    assert claims_json_size(exact.permissions) + claims_json_size(exact.attributes) == 2048
    _refused(
        lambda: claims_set(permissions, _filling(permissions, CLAIMS_MAX_BYTES + 1)),
        "non_field_errors",
    )
    # Permissions alone count too (64 of 128 characters would be 8 KiB).
    _refused(
        lambda: claims_set(["x" * (PERMISSION_MAX_LENGTH - 3) + f"{i:03}" for i in range(20)]),
        "non_field_errors",
    )


def test_the_size_is_counted_as_the_token_writes_it(claims_set):
    # PyJWT escapes non-ASCII: "é" is six bytes in the token, so it counts six here.
    assert claims_json_size({"n": "\u00e9"}) == len('{"n":"\\u00e9"}')
    many = {"n": "\u00e9" * ((CLAIMS_MAX_BYTES - 8) // 6 + 1)}
    assert len(json.dumps(many, ensure_ascii=False)) < CLAIMS_MAX_BYTES
    _refused(lambda: claims_set(attributes=many), "non_field_errors")


def test_nothing_given_is_no_claims(claims_set):
    claims_set(["a"], {"b": 1})

    claims = claims_set()

    assert (claims.permissions, claims.attributes) == ([], {})
    session = Session.objects.get()
    assert (session.permissions, session.attributes) == ([], {})
