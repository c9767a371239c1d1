from django.core.management.base import BaseCommand, CommandError

from accounts.management.operators import service_error_message
from authsvc.errors import ServiceError
from tokens.service_clients import service_client_create


class Command(BaseCommand):
    help = (
        "Create a service client for another back-end service and print its id and secret. "
        "The secret is shown this once; only its hash is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="a unique name, e.g. billing")
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            help="a scope it may ask for; repeat, or space-separate. authsvc's own: "
            "introspect (POST /auth/verify/), sessions:claims (PUT /auth/sessions/<sid>/claims/)",
        )
        parser.add_argument(
            "--audience",
            action="append",
            default=[],
            help="a service it may get tokens for (the token's aud); repeat, or space-separate. "
            "authsvc's own audience is always allowed",
        )

    def handle(self, *args, name, scope, audience, **options):
        try:
            client, secret = service_client_create(
                name=name, scopes=_split(scope), audiences=_split(audience)
            )
        except ServiceError as exc:
            raise CommandError(service_error_message(exc)) from exc
        self.stdout.write(f"client_id: {client.client_id}")
        self.stdout.write(f"client_secret: {secret}")


def _split(values: list[str]) -> list[str]:
    return [item for value in values for item in value.split()]
