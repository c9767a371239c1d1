"""A browser for the pages: Django's test client with CSRF enforced, posting forms the way
a browser does (the token from the page's cookie in the `csrfmiddlewaretoken` field)."""

import re

import pytest
from django.test import Client

from tests.accounts.test_google import google  # noqa: F401 - the fake Google, for these tests too
from tests.conftest import DEFAULT_PASSWORD


class PageClient(Client):
    def __init__(self, **kwargs):
        super().__init__(enforce_csrf_checks=True, **kwargs)

    def csrf(self) -> str:
        if "csrftoken" not in self.cookies or not self.cookies["csrftoken"].value:
            self.get("/login/")
        return self.cookies["csrftoken"].value

    def submit(self, path: str, data: dict | None = None, **extra):
        """POST a form as a browser does after loading a page."""
        return self.post(path, {"csrfmiddlewaretoken": self.csrf(), **(data or {})}, **extra)

    def sign_in(self, email: str, password: str = DEFAULT_PASSWORD):
        return self.submit("/login/", {"email": email, "password": password})

    def cookie(self, name: str) -> str | None:
        morsel = self.cookies.get(name)
        return morsel.value if morsel is not None and morsel.value else None


@pytest.fixture
def browser():
    return PageClient()


@pytest.fixture
def signed_in(browser, user):
    response = browser.sign_in(user.email)
    assert response.status_code == 303, response.content
    return browser


def field_html(html: str, name: str) -> str:
    """The <input> (or <select>) tag of the field named `name`."""
    match = re.search(rf'<(?:input|select)[^>]*name="{name}"[^>]*>', html)
    assert match, f"no field {name!r} in the page"
    return match.group(0)


def label_for(html: str, field_id: str) -> bool:
    return f'<label for="{field_id}">' in html
