from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.roles import ADMIN_ROLE, DEFAULT_ROLE, user_roles_set
from accounts.services import user_create

DEMO_PASSWORD = "demo password 1234"  # noqa: S105 - printed for local development only
DEMO_USERS = (
    ("admin@example.com", "Demo Admin", [DEFAULT_ROLE, ADMIN_ROLE], True),
    ("alice@example.com", "Alice Demo", [DEFAULT_ROLE], False),
    ("bob@example.com", "Bob Demo", [DEFAULT_ROLE], False),
)


class Command(BaseCommand):
    help = (
        "Create demo accounts for local development (DJANGO_DEBUG=1 only): an admin "
        "(staff, admin role) and two users, all with one known password. Existing "
        "accounts are left alone."
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("create_demo_users runs only with DJANGO_DEBUG=1.")
        for email, name, roles, staff in DEMO_USERS:
            if User.objects.filter(email=email).exists():
                self.stdout.write(f"{email} exists; skipped.")
                continue
            user = user_create(email=email, password=DEMO_PASSWORD, name=name)
            User.objects.filter(pk=user.pk).update(
                email_verified=True, is_staff=staff, is_superuser=staff
            )
            user_roles_set(user=user, roles=roles)
            self.stdout.write(self.style.SUCCESS(f"Created {email} ({', '.join(roles)})."))
        self.stdout.write(f"Password for every demo account: {DEMO_PASSWORD!r}")
