from django.core.management.base import BaseCommand

from accounts.management.operators import user_by_email
from sessions_store.services import user_sessions_revoke_by_operator


class Command(BaseCommand):
    help = (
        "End every session of a user: their access tokens fail on the next request and "
        "their refresh tokens are refused. The account itself stays usable."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="the user's email address")

    def handle(self, *args, email, **options):
        user = user_by_email(email)
        count = user_sessions_revoke_by_operator(user_id=user.pk)
        self.stdout.write(self.style.SUCCESS(f"Revoked {count} session(s) of {user.email}."))
