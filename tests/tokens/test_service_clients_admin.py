"""Service clients in the admin: the list, creating one (its secret shown once and kept
nowhere), editing its scopes, rotating its secret, disabling and enabling it; never
deleting it. Every write is audited with the operator's id."""

import base64
import hashlib

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client

from audit.models import AuthEvent
from tests.accounts.mfa_helpers import admin_log_in, authenticator_for
from tokens.models import ServiceClient
from tokens.service_clients import clear_cache, service_client_create

CLIENTS = "/admin/tokens/serviceclient/"
ADD = CLIENTS + "add/"


@pytest.fixture(autouse=True)
def _fresh_client_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def operator(make_user):
    return make_user(email="ops@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def browser(operator):
    """The operator's browser, logged in to the admin with the password and a TOTP code."""
    client = Client()
    admin_log_in(client, operator, authenticator_for(operator))
    return client


@pytest.fixture
def billing():
    client, secret = service_client_create(
        name="billing", scopes=["introspect"], audiences=["billing"]
    )
    return client, secret


def token_request(client_id: str, secret: str):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return Client().post(
        "/auth/token/",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )


def assert_refused(client_id: str, secret: str) -> None:
    response = token_request(client_id, secret)
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_client"


def assert_accepted(client_id: str, secret: str) -> None:
    response = token_request(client_id, secret)
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer"


def cache_directives(response) -> set[str]:
    return {part.strip() for part in response["Cache-Control"].split(",")}


def assert_kept_nowhere(browser, secret: str) -> None:
    """Not in the admin's history, the browser's cookies or its (cookie) session, where
    Django's messages would be."""
    for entry in LogEntry.objects.all():
        assert secret not in entry.change_message
        assert secret not in entry.object_repr
    for morsel in browser.cookies.values():
        assert secret not in morsel.value
    assert secret not in repr(dict(browser.session.items()))


def event_by(type_: str) -> str:
    return AuthEvent.objects.get(type=type_).details["by"]


def test_the_list_shows_the_clients_never_the_hash(browser, billing):
    client, _ = billing
    service_client_create(name="ledger", scopes=[], audiences=[])

    response = browser.get(CLIENTS)

    assert response.status_code == 200
    page = response.content.decode()
    for text in ("billing", client.client_id, "introspect"):
        assert text in page
    for column in ("scopes", "audiences", "active", "secret rotated at", "last used at"):
        assert column in page.lower()
    assert client.secret_hash not in page
    assert "delete_selected" not in page
    assert [c.name for c in browser.get(CLIENTS, {"q": "ledg"}).context["cl"].result_list] == [
        "ledger"
    ]
    by_id = browser.get(CLIENTS, {"q": client.client_id}).context["cl"].result_list
    assert [c.name for c in by_id] == ["billing"]


def test_the_list_filters_by_active(browser, billing, operator):
    service_client_create(name="ledger", scopes=[], audiences=[])
    browser.post(CLIENTS, {"action": "disable_clients", "_selected_action": [billing[0].pk]})

    disabled = browser.get(CLIENTS, {"is_active__exact": "0"}).context["cl"].result_list
    active = browser.get(CLIENTS, {"is_active__exact": "1"}).context["cl"].result_list

    assert [c.name for c in disabled] == ["billing"]
    assert [c.name for c in active] == ["ledger"]


def test_creating_a_client_shows_its_secret_once(browser, operator):
    form = browser.get(ADD)
    response = browser.post(
        ADD,
        {
            "name": "billing",
            "scopes": "introspect, sessions:claims",
            "audiences": "billing\nledger",
        },
    )

    assert form.status_code == 200
    assert response.status_code == 200
    assert "no-store" in cache_directives(response)
    client = ServiceClient.objects.get(name="billing")
    secret = response.context["secret"]
    assert hashlib.sha256(secret.encode()).hexdigest() == client.secret_hash
    page = response.content.decode()
    assert client.client_id in page
    assert secret in page
    assert "it will not be shown again" in page
    assert client.secret_hash not in page
    assert (client.scopes, client.audiences) == (
        ["introspect", "sessions:claims"],
        ["billing", "ledger"],
    )
    assert client.is_active
    assert LogEntry.objects.filter(object_id=str(client.pk)).exists()
    assert_kept_nowhere(browser, secret)
    for url in (CLIENTS, f"{CLIENTS}{client.pk}/change/", f"{CLIENTS}{client.pk}/history/"):
        later = browser.get(url)
        assert later.status_code == 200
        assert secret not in later.content.decode()
        assert client.secret_hash not in later.content.decode()
        assert all(secret not in str(message) for message in later.context["messages"])
    assert_accepted(client.client_id, secret)
    assert event_by("service_client_created") == str(operator.pk)


def test_creating_refuses_what_the_service_refuses(browser, billing):
    bad_scope = browser.post(ADD, {"name": "ledger", "scopes": 'in"trospect', "audiences": ""})
    taken = browser.post(ADD, {"name": "billing", "scopes": "", "audiences": ""})
    no_name = browser.post(ADD, {"name": "", "scopes": "", "audiences": ""})

    assert bad_scope.status_code == 200
    assert "is not a valid value" in bad_scope.context["form"].errors["scopes"][0]
    assert taken.context["form"].errors["name"] == ["A service client with this name exists."]
    assert "name" in no_name.context["form"].errors
    assert list(ServiceClient.objects.values_list("name", flat=True)) == ["billing"]
    assert "secret" not in taken.context


def test_the_change_page_edits_scopes_and_audiences_only(
    browser, billing, operator, django_capture_on_commit_callbacks
):
    client, _ = billing
    url = f"{CLIENTS}{client.pk}/change/"
    page = browser.get(url)

    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            url, {"name": "renamed", "scopes": "introspect sessions:claims", "audiences": ""}
        )

    assert page.status_code == 200
    assert f"{CLIENTS}{client.pk}/rotate-secret/" in page.content.decode()
    assert client.secret_hash not in page.content.decode()
    assert response.status_code == 302
    client.refresh_from_db()
    assert (client.name, client.scopes, client.audiences) == (
        "billing",
        ["introspect", "sessions:claims"],
        [],
    )
    assert event_by("service_client_updated") == str(operator.pk)
    refused = browser.post(url, {"scopes": "x" * 65, "audiences": ""})
    assert refused.status_code == 200
    assert "scopes" in refused.context["adminform"].form.errors


def test_rotating_shows_a_new_secret_once_and_the_old_one_dies(browser, billing, operator):
    client, old = billing
    url = f"{CLIENTS}{client.pk}/rotate-secret/"
    assert_accepted(client.client_id, old)

    confirm = browser.get(url)
    unchanged = ServiceClient.objects.get(pk=client.pk).secret_hash
    response = browser.post(url)

    assert confirm.status_code == 200
    assert unchanged == client.secret_hash
    assert response.status_code == 200
    assert "no-store" in cache_directives(response)
    new = response.context["secret"]
    assert new != old
    assert new in response.content.decode()
    assert "it will not be shown again" in response.content.decode()
    assert (
        hashlib.sha256(new.encode()).hexdigest()
        == ServiceClient.objects.get(pk=client.pk).secret_hash
    )
    assert_kept_nowhere(browser, new)
    assert_refused(client.client_id, old)
    assert_accepted(client.client_id, new)
    assert event_by("service_client_secret_rotated") == str(operator.pk)


def test_disabling_refuses_the_client_and_enabling_restores_it(browser, billing, operator):
    client, secret = billing
    assert_accepted(client.client_id, secret)

    disabled = browser.post(CLIENTS, {"action": "disable_clients", "_selected_action": [client.pk]})

    assert disabled.status_code == 302
    assert not ServiceClient.objects.get(pk=client.pk).is_active
    assert_refused(client.client_id, secret)
    assert event_by("service_client_disabled") == str(operator.pk)

    enabled = browser.post(CLIENTS, {"action": "enable_clients", "_selected_action": [client.pk]})

    assert enabled.status_code == 302
    assert ServiceClient.objects.get(pk=client.pk).is_active
    assert_accepted(client.client_id, secret)
    assert event_by("service_client_enabled") == str(operator.pk)


def test_a_client_cannot_be_deleted(browser, billing):
    client, _ = billing

    page = browser.get(f"{CLIENTS}{client.pk}/delete/")
    bulk = browser.post(CLIENTS, {"action": "delete_selected", "_selected_action": [client.pk]})
    bulk_confirmed = browser.post(
        CLIENTS, {"action": "delete_selected", "_selected_action": [client.pk], "post": "yes"}
    )

    assert page.status_code == 403
    assert bulk.status_code in (200, 302)
    assert bulk_confirmed.status_code in (200, 302)
    assert ServiceClient.objects.filter(pk=client.pk).exists()


def test_a_user_who_is_not_staff_cannot_reach_it(make_user, billing):
    user = make_user(email="user@example.com")
    browser = Client()
    refused = browser.post("/admin/login/", {"username": user.email, "password": "x"})

    for url in (CLIENTS, ADD, f"{CLIENTS}{billing[0].pk}/rotate-secret/"):
        response = browser.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert refused.status_code == 200
    assert browser.post(ADD, {"name": "sneaky", "scopes": "", "audiences": ""}).status_code == 302
    assert not ServiceClient.objects.filter(name="sneaky").exists()


def test_staff_need_the_models_permissions(make_user, billing):
    client, secret = billing
    staff = make_user(email="viewer@example.com", is_staff=True)
    browser = Client()
    admin_log_in(browser, staff, authenticator_for(staff))
    rotate = f"{CLIENTS}{client.pk}/rotate-secret/"

    assert browser.get(CLIENTS).status_code == 403
    assert browser.get(ADD).status_code == 403

    staff.user_permissions.add(Permission.objects.get(codename="view_serviceclient"))

    assert browser.get(CLIENTS).status_code == 200
    assert browser.get(ADD).status_code == 403
    assert browser.post(rotate).status_code == 403
    assert browser.post(
        CLIENTS, {"action": "disable_clients", "_selected_action": [client.pk]}
    ).status_code in (200, 302)
    assert ServiceClient.objects.get(pk=client.pk).is_active
    assert_accepted(client.client_id, secret)

    staff.user_permissions.add(Permission.objects.get(codename="change_serviceclient"))

    assert browser.post(rotate).status_code == 200
    assert_refused(client.client_id, secret)


def test_posts_need_the_csrf_token(browser, billing):
    client, secret = billing
    forged = Client(enforce_csrf_checks=True)
    forged.cookies = browser.cookies

    created = forged.post(ADD, {"name": "forged", "scopes": "", "audiences": ""})
    rotated = forged.post(f"{CLIENTS}{client.pk}/rotate-secret/")

    assert (created.status_code, rotated.status_code) == (403, 403)
    assert not ServiceClient.objects.filter(name="forged").exists()
    assert_accepted(client.client_id, secret)
