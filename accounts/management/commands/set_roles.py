from django.core.management.base import BaseCommand, CommandError

from accounts.exceptions import InvalidRequest
from accounts.management.operators import service_error_message, user_by_email
from accounts.roles import user_roles_set


class Command(BaseCommand):
    help = (
        "Replace a user's roles (Django groups) with the ones given, e.g. "
        "`set_roles ada@example.com user admin`. Roles must exist (user and admin always "
        "do; create others in the admin under Groups). Live sessions see the change at "
        "once; access tokens carry it from the next refresh."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="the user's email address")
        parser.add_argument("roles", nargs="+", metavar="ROLE", help="role names")

    def handle(self, *args, email, roles, **options):
        user = user_by_email(email)
        try:
            names = user_roles_set(user=user, roles=roles)
        except InvalidRequest as exc:
            raise CommandError(service_error_message(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"{user.email} now has roles: {', '.join(names)}."))
