from django.core.management.base import BaseCommand, CommandError

from accounts.management.operators import service_error_message
from authsvc.errors import ServiceError
from tokens.management.service_clients import client_id_of
from tokens.service_clients import service_client_disable, service_client_enable


class Command(BaseCommand):
    help = (
        "Disable a service client: its secret and every token it holds are refused "
        "(within 2 s in every process). --enable turns it back on."
    )

    def add_arguments(self, parser):
        parser.add_argument("client", help="the client id (svc_...) or the client's name")
        parser.add_argument("--enable", action="store_true", help="enable it again instead")

    def handle(self, *args, client, enable, **options):
        client_id = client_id_of(client)
        change = service_client_enable if enable else service_client_disable
        try:
            changed = change(client_id=client_id)
        except ServiceError as exc:
            raise CommandError(service_error_message(exc)) from exc
        state = "enabled" if enable else "disabled"
        if changed:
            self.stdout.write(self.style.SUCCESS(f"{client_id} is now {state}."))
        else:
            self.stdout.write(f"{client_id} was already {state}.")
