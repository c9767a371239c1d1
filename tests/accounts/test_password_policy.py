"""The password policy (NIST SP 800-63B): long passwords welcome, no composition rules,
common, personal and breached passwords refused; HaveIBeenPwned optional and failing open."""

import gzip
import hashlib
import logging

import pytest
import requests
import responses
from django.contrib.auth.password_validation import CommonPasswordValidator

from accounts.validators import (
    _BREACHED_LIST,
    _breached_fingerprints,
    _fingerprint,
    breached_offline,
)

pytestmark = pytest.mark.django_db


def register(api, password, email="pat@example.com", name="Pat Smith"):
    return api.post_json("/auth/register/", {"email": email, "password": password, "name": name})


def refused_for(response) -> list[str]:
    assert response.status_code == 400, response.content
    return response.json()["fields"]["password"]


def a_breached_password_django_does_not_know() -> str:
    django_list = CommonPasswordValidator().passwords
    with gzip.open(_BREACHED_LIST, "rt") as lines:
        return next(
            word
            for word in (line.strip() for line in lines)
            if len(word) >= 12 and word.lower() not in django_list
        )


def test_the_shipped_list_holds_100k_breached_passwords():
    with gzip.open(_BREACHED_LIST, "rt") as lines:
        words = [line.rstrip("\n") for line in lines]

    assert len(words) == 100_000
    assert words[:3] == ["123456", "password", "12345678"]
    assert all(breached_offline(word) for word in words[::997])
    assert breached_offline("PASSWORD")
    assert not breached_offline("correct horse battery staple")


def test_the_fingerprints_are_every_listed_password_sorted_once():
    # Built in sorted runs merged (accounts/validators.py); bisect needs exactly this.
    with gzip.open(_BREACHED_LIST, "rt") as lines:
        expected = sorted({_fingerprint(line.rstrip("\n")) for line in lines})

    assert list(_breached_fingerprints()) == expected


def test_a_breached_password_is_refused(api):
    password = a_breached_password_django_does_not_know()

    assert any("data breaches" in m for m in refused_for(register(api, password)))


def test_common_and_personal_passwords_are_refused(api):
    assert refused_for(register(api, "iloveyou"))
    assert refused_for(register(api, "pat@example.com"))
    assert refused_for(register(api, "Pat Smith!"))


def test_no_composition_rules(api):
    assert register(api, "83719264", email="digits@example.com").status_code == 201
    assert register(api, "all lower case words", email="lower@example.com").status_code == 201


def test_long_passwords_up_to_1024_are_welcome_and_longer_is_refused_before_hashing(
    api, monkeypatch
):
    assert register(api, "x7" * 32 + " long one", email="long@example.com").status_code == 201

    def no_hashing(*args, **kwargs):
        raise AssertionError("hashed an oversized password")

    monkeypatch.setattr("django.contrib.auth.hashers.make_password", no_hashing)
    response = register(api, "y" * 1025, email="huge@example.com")
    assert response.status_code == 400


def test_minimum_length(api):
    assert refused_for(register(api, "k3#v9q!"))  # 7 characters


@pytest.fixture
def hibp(settings):
    settings.AUTHSVC_HIBP_ENABLED = True
    with responses.RequestsMock() as mock:
        yield mock


def hibp_range(password: str) -> tuple[str, str]:
    digest = hashlib.sha1(password.encode()).hexdigest().upper()  # noqa: S324 (HIBP's scheme)
    return f"https://api.pwnedpasswords.com/range/{digest[:5]}", digest[5:]


def test_hibp_refuses_a_password_it_has_seen(api, hibp):
    password = "a perfectly unusual phrase 42"
    url, suffix = hibp_range(password)
    hibp.add(responses.GET, url, body=f"0000000000000000000000000000000000A:0\r\n{suffix}:3\r\n")

    assert any("data breaches" in m for m in refused_for(register(api, password)))
    # Only the 5-character prefix left the service, with padding asked for.
    assert hibp.calls[0].request.url == url
    assert hibp.calls[0].request.headers["Add-Padding"] == "true"


def test_hibp_padding_entries_do_not_count(api, hibp):
    password = "another unusual phrase 43"
    url, suffix = hibp_range(password)
    hibp.add(responses.GET, url, body=f"{suffix}:0\r\n")

    assert register(api, password).status_code == 201


def test_hibp_down_fails_open_with_a_log_line(api, hibp, caplog):
    password = "a third unusual phrase 44"
    url, _ = hibp_range(password)
    hibp.add(responses.GET, url, body=requests.exceptions.ConnectTimeout())
    caplog.set_level(logging.WARNING, logger="accounts.validators")

    assert register(api, password).status_code == 201
    assert "HaveIBeenPwned unavailable" in caplog.text
