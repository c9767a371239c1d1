"""`PreparedFirst`: the login's user lookup compiled once answers exactly as the ORM's
`.first()` does, annotations included."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.services import _USER_FOR_LOGIN, _user_for_login
from authsvc.prepared import PreparedFirst

pytestmark = pytest.mark.django_db

FIELDS = [field.attname for field in User._meta.concrete_fields]


def same(prepared: User, orm: User) -> None:
    assert type(prepared) is User
    assert {name: getattr(prepared, name) for name in FIELDS} == {
        name: getattr(orm, name) for name in FIELDS
    }
    assert bool(prepared.has_totp) is orm.has_totp
    assert bool(prepared.has_passkey) is orm.has_passkey
    assert prepared._state.db == orm._state.db


def test_the_login_lookup_answers_as_the_orm_does(make_user):
    plain = make_user(email="plain@example.com")
    with_totp = make_user(email="totp@example.com")
    TOTPDevice.objects.create(user=with_totp, name="app", confirmed=True)
    make_user(email="unconfirmed@example.com")
    TOTPDevice.objects.create(
        user=User.objects.get(email="unconfirmed@example.com"), name="app", confirmed=False
    )

    for email in ("plain@example.com", "totp@example.com", "unconfirmed@example.com"):
        same(_USER_FOR_LOGIN.first(email), _user_for_login(email).first())
    assert _USER_FOR_LOGIN.first("totp@example.com").has_totp
    assert not _USER_FOR_LOGIN.first("unconfirmed@example.com").has_totp
    assert _USER_FOR_LOGIN.first(plain.email).pk == plain.pk
    assert _USER_FOR_LOGIN.first("nobody@example.com") is None


def test_it_runs_the_orms_sql_with_the_value_as_a_parameter(make_user):
    make_user(email="sql@example.com")
    hostile = "x' OR '1'='1"
    with CaptureQueriesContext(connection) as orm:
        _user_for_login(hostile).first()
    with CaptureQueriesContext(connection) as prepared:
        assert _USER_FOR_LOGIN.first(hostile) is None

    assert [q["sql"] for q in prepared.captured_queries] == [
        q["sql"] for q in orm.captured_queries
    ]


def test_a_query_whose_value_is_not_one_parameter_is_refused():
    twice = PreparedFirst(User, lambda value: User.objects.filter(email=value, name=value))

    with pytest.raises(ValueError, match="once"):
        twice.first("a@example.com")
