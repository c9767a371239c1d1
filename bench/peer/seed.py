"""Seed the peer's database like authsvc's (run by bench/peer_run.py with the peer's Python):
`n` users bench<i>@example.com with one real argon2id hash of the bench password, access
tokens of the first users for GET /auth/user/, and refresh tokens (each an OutstandingToken
row, as a login makes) for the refresh phases' rotation chains.

    python seed.py <n> <password> <access tokens file> <refresh tokens file> <chains>
"""

import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer.settings")
django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402


def main(n: int, password: str, access_file: str, refresh_file: str, chains: int) -> None:
    started = time.perf_counter()
    encoded = make_password(password)
    now = timezone.now()
    with connection.cursor() as cursor, connection.connection.cursor() as cur:
        with cur.copy(
            "COPY auth_user (password, is_superuser, username, first_name, last_name, email,"
            " is_staff, is_active, date_joined) FROM STDIN"
        ) as copy:
            for i in range(n):
                email = f"bench{i}@example.com"
                copy.write_row((encoded, False, email, "Bench", "User", email, False, True, now))
        cursor.execute("ANALYZE auth_user")
    users = list(User.objects.order_by("id")[: max(512, chains)])
    with open(access_file, "w") as out:
        for user in users[:512]:
            out.write(str(RefreshToken.for_user(user).access_token) + "\n")
    with open(refresh_file, "w") as out:
        for user in users[:chains]:
            out.write(str(RefreshToken.for_user(user)) + "\n")
    print(f"peer seeded {n} users in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
