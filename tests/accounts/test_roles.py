"""Roles are groups: they reach the snapshot at once and the token at the next refresh."""

import pytest
from django.contrib.auth.models import Group

from accounts.exceptions import InvalidRequest
from accounts.roles import user_roles, user_roles_set
from audit.models import AuthEvent
from tests.tokens.conftest import token_parts


def test_registration_gives_the_default_role(db, api):
    api.register(email="new@example.com")

    assert api.get("/auth/self/").json()["roles"] == ["user"]
    assert token_parts(api.cookie("access_token"))[1]["roles"] == ["user"]


def test_builtin_roles_exist(db):
    assert set(Group.objects.values_list("name", flat=True)) >= {"user", "admin"}


def test_a_role_change_reaches_the_snapshot_at_once_and_the_token_at_refresh(logged_in, user):
    assert token_parts(logged_in.cookie("access_token"))[1]["roles"] == []

    user_roles_set(user=user, roles=["user", "admin"])

    assert logged_in.get("/auth/self/").json()["roles"] == ["admin", "user"]
    assert logged_in.post_json("/auth/refresh/").status_code == 200
    assert token_parts(logged_in.cookie("access_token"))[1]["roles"] == ["admin", "user"]


def test_removing_a_role_takes_it_out_of_the_next_token(logged_in, user):
    user_roles_set(user=user, roles=["admin"])
    logged_in.post_json("/auth/refresh/")

    user_roles_set(user=user, roles=["user"])
    logged_in.post_json("/auth/refresh/")

    assert token_parts(logged_in.cookie("access_token"))[1]["roles"] == ["user"]


def test_set_roles_replaces_and_records(user, admin_user, committed):
    Group.objects.create(name="support")
    user_roles_set(user=user, roles=["support", "user"])

    with committed():
        assert user_roles_set(user=user, roles=["admin"], by=admin_user) == ["admin"]

    assert user_roles(user) == ["admin"]
    event = AuthEvent.objects.filter(type="roles_changed", user=user).first()
    assert event.details == {
        "before": ["support", "user"],
        "after": ["admin"],
        "by": str(admin_user.pk),
    }


def test_unknown_roles_are_refused_not_created(user):
    with pytest.raises(InvalidRequest) as caught:
        user_roles_set(user=user, roles=["user", "superhero"])

    assert caught.value.fields == {"roles": ["Unknown role: superhero."]}
    assert not Group.objects.filter(name="superhero").exists()
    assert user_roles(user) == []


def test_builtin_roles_are_recreated_if_missing(user):
    Group.objects.filter(name="admin").delete()

    user_roles_set(user=user, roles=["admin"])

    assert user_roles(user) == ["admin"]


def test_an_unchanged_set_records_nothing(user, committed):
    with committed():
        user_roles_set(user=user, roles=["user"])
        user_roles_set(user=user, roles=["user"])

    assert AuthEvent.objects.filter(type="roles_changed", user=user).count() == 1
