from django.core.management.base import BaseCommand

from accounts.bans import user_unban
from accounts.management.operators import user_by_email


class Command(BaseCommand):
    help = "Lift a user's ban; they can log in again (their old sessions stay ended)."

    def add_arguments(self, parser):
        parser.add_argument("email", help="the user's email address")

    def handle(self, *args, email, **options):
        user = user_by_email(email)
        if user_unban(user=user):
            self.stdout.write(self.style.SUCCESS(f"Unbanned {user.email}."))
        else:
            self.stdout.write(f"{user.email} was not banned; nothing changed.")
