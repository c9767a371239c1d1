from django.core.management.base import BaseCommand, CommandError

from accounts.management.operators import service_error_message
from authsvc.errors import ServiceError
from tokens.management.service_clients import client_id_of
from tokens.service_clients import service_client_rotate_secret


class Command(BaseCommand):
    help = (
        "Give a service client a new secret and print it (this once). The old secret and "
        "every token issued under it stop working."
    )

    def add_arguments(self, parser):
        parser.add_argument("client", help="the client id (svc_...) or the client's name")

    def handle(self, *args, client, **options):
        client_id = client_id_of(client)
        try:
            secret = service_client_rotate_secret(client_id=client_id)
        except ServiceError as exc:
            raise CommandError(service_error_message(exc)) from exc
        self.stdout.write(f"client_id: {client_id}")
        self.stdout.write(f"client_secret: {secret}")
