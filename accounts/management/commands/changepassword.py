"""`manage.py changepassword`, replacing django.contrib.auth's: the password is set through
`accounts.passwords.password_set_by_operator`, so every session of the user ends with the
old password (Django's own command only saves the hash)."""

import getpass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.management.operators import user_by_email
from accounts.passwords import password_set_by_operator

MAX_TRIES = 3


class Command(BaseCommand):
    help = (
        "Set a user's password (asked twice, checked against the password policy). Every "
        "session of the user ends: their tokens fail at once, admin logins included."
    )
    requires_migrations_checks = True
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("email", help="the user's email address")

    def _get_pass(self, prompt="Password: ") -> str:
        password = getpass.getpass(prompt=prompt)
        if not password:
            raise CommandError("aborted")
        return password

    def handle(self, *args, email, **options):
        user = user_by_email(email)
        self.stdout.write(f"Changing password for {user.email}")
        for _ in range(MAX_TRIES):
            password = self._get_pass()
            if password != self._get_pass("Password (again): "):
                self.stdout.write("Passwords do not match. Please try again.")
                continue
            try:
                validate_password(password, user)
            except ValidationError as err:
                self.stderr.write("\n".join(err.messages))
                continue
            revoked = password_set_by_operator(user=user, new_password=password)
            return f"Password changed for {user.email}; {revoked} session(s) ended."
        raise CommandError(f"Aborting password change for {user.email} after {MAX_TRIES} attempts")
