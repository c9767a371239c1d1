"""Service clients: created, rotated, updated, disabled and enabled through the services
every door calls, and the management commands' contract output."""

import hashlib
import io

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuthEvent
from authsvc.errors import ServiceError
from tokens.exceptions import InvalidClient
from tokens.models import ServiceClient
from tokens.service_clients import (
    ServiceClientNameTaken,
    ServiceClientNotFound,
    service_client_authenticate,
    service_client_create,
    service_client_disable,
    service_client_enable,
    service_client_rotate_secret,
)


@pytest.mark.django_db
class TestServices:
    def test_create_stores_only_a_hash(self):
        client, secret = service_client_create(
            name="billing", scopes=["introspect", "introspect"], audiences=["billing"]
        )
        row = ServiceClient.objects.get(pk=client.pk)
        assert row.client_id.startswith("svc_")
        assert len(secret) >= 43  # 256 bits, base64url
        assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in str(row.__dict__)
        assert row.scopes == ["introspect"]
        assert row.is_active and row.secret_version == 1
        event = AuthEvent.objects.get(type="service_client_created")
        assert event.details["client_id"] == client.client_id
        assert secret not in str(event.details)

    def test_secrets_differ(self):
        secrets = {
            service_client_create(name=f"c{i}", scopes=[], audiences=[])[1] for i in range(5)
        }
        assert len(secrets) == 5

    def test_name_is_unique(self):
        service_client_create(name="billing", scopes=[], audiences=[])
        with pytest.raises(ServiceClientNameTaken):
            service_client_create(name="billing", scopes=[], audiences=[])

    @pytest.mark.parametrize(
        ("field", "values"),
        [
            ("scopes", ["has space"]),
            ("scopes", ['quote"']),
            ("scopes", ["x" * 65]),
            ("scopes", [f"s{i}" for i in range(33)]),
            ("audiences", [""]),
            ("audiences", [5]),
        ],
    )
    def test_invalid_lists(self, field, values):
        kwargs = {"scopes": [], "audiences": [], field: values}
        with pytest.raises(ServiceError) as raised:
            service_client_create(name="x", **kwargs)
        assert field in raised.value.fields

    @pytest.mark.parametrize("name", ["", "   ", "n" * 151])
    def test_invalid_name(self, name):
        with pytest.raises(ServiceError):
            service_client_create(name=name, scopes=[], audiences=[])

    def test_rotate_disable_enable(self):
        client, secret = service_client_create(name="a", scopes=[], audiences=[])
        assert service_client_authenticate(client_id=client.client_id, secret=secret)
        new = service_client_rotate_secret(client_id=client.client_id, by="op-1")
        with pytest.raises(InvalidClient):
            service_client_authenticate(client_id=client.client_id, secret=secret)
        assert (
            service_client_authenticate(client_id=client.client_id, secret=new).secret_version == 2
        )
        assert service_client_disable(client_id=client.client_id) is True
        assert service_client_disable(client_id=client.client_id) is False
        with pytest.raises(InvalidClient):
            service_client_authenticate(client_id=client.client_id, secret=new)
        assert ServiceClient.objects.get(pk=client.pk).disabled_at is not None
        assert service_client_enable(client_id=client.client_id) is True
        assert service_client_authenticate(client_id=client.client_id, secret=new)
        types = list(
            AuthEvent.objects.filter(type__startswith="service_client_")
            .order_by("created_at", "id")
            .values_list("type", flat=True)
        )
        assert types == [
            "service_client_created",
            "service_client_secret_rotated",
            "service_client_disabled",
            "service_client_enabled",
        ]
        rotated = AuthEvent.objects.get(type="service_client_secret_rotated")
        assert rotated.details["by"] == "op-1"

    def test_unknown_client(self):
        with pytest.raises(ServiceClientNotFound):
            service_client_disable(client_id="svc_nobody")


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
class TestCommands:
    def test_create_prints_id_and_secret_on_two_lines(self):
        out = run(
            "create_service_client",
            "billing",
            "--scope",
            "introspect sessions:claims",
            "--audience",
            "billing",
            "--audience",
            "https://mail.internal",
        )
        lines = out.splitlines()
        assert len(lines) == 2
        assert lines[0].startswith("client_id: svc_")
        assert lines[1].startswith("client_secret: ")
        client = ServiceClient.objects.get(name="billing")
        assert client.client_id == lines[0].removeprefix("client_id: ")
        assert client.scopes == ["introspect", "sessions:claims"]
        assert client.audiences == ["billing", "https://mail.internal"]
        secret = lines[1].removeprefix("client_secret: ")
        assert service_client_authenticate(client_id=client.client_id, secret=secret)

    def test_create_refuses_a_taken_name_and_bad_scope(self):
        run("create_service_client", "billing")
        with pytest.raises(CommandError):
            run("create_service_client", "billing")
        with pytest.raises(CommandError, match="scopes"):
            run("create_service_client", "other", "--scope", 'a"b')

    def test_rotate_by_name_or_id(self):
        run("create_service_client", "billing")
        client = ServiceClient.objects.get(name="billing")
        for name in ("billing", client.client_id):
            lines = run("rotate_service_client_secret", name).splitlines()
            assert lines[0] == f"client_id: {client.client_id}"
            secret = lines[1].removeprefix("client_secret: ")
            assert service_client_authenticate(client_id=client.client_id, secret=secret)
        assert ServiceClient.objects.get(pk=client.pk).secret_version == 3

    def test_disable_and_enable(self):
        run("create_service_client", "billing")
        assert "now disabled" in run("disable_service_client", "billing")
        assert "already disabled" in run("disable_service_client", "billing")
        assert not ServiceClient.objects.get(name="billing").is_active
        assert "now enabled" in run("disable_service_client", "billing", "--enable")

    def test_unknown_client(self):
        with pytest.raises(CommandError, match="No service client"):
            run("disable_service_client", "nobody")
