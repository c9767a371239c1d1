from django.core.management.base import BaseCommand, CommandError

from accounts.bans import user_ban
from accounts.management.operators import parse_until, service_error_message, user_by_email
from authsvc.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Ban a user: login is refused (403 account_disabled), every session ends at once "
        "and the user's access and refresh tokens stop working on their next use. "
        "Without --until the ban is permanent; with it, the ban lifts itself."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="the user's email address")
        parser.add_argument("--reason", required=True, help="why; stored and shown to operators")
        parser.add_argument(
            "--until",
            help="end of a temporary ban: a duration from now (30m, 12h, 7d, 2w) or an "
            "ISO 8601 date-time (2026-12-31T18:00:00Z)",
        )

    def handle(self, *args, email, reason, until, **options):
        user = user_by_email(email)
        try:
            banned = user_ban(user=user, reason=reason, until=parse_until(until))
        except ServiceError as exc:
            raise CommandError(service_error_message(exc)) from exc
        end = banned.banned_until.isoformat() if banned.banned_until else "permanently"
        self.stdout.write(self.style.SUCCESS(f"Banned {banned.email} ({end})."))
