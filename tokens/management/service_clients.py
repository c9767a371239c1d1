"""What the service-client commands share."""

from django.core.management.base import CommandError
from django.db.models import Q

from tokens.models import ServiceClient


def client_id_of(value: str) -> str:
    """The client id of a client named by its id or its name; CommandError if none."""
    client = ServiceClient.objects.filter(Q(client_id=value) | Q(name=value)).first()
    if client is None:
        raise CommandError(f"No service client {value!r}.")
    return client.client_id
