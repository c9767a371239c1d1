from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher

# OWASP Password Storage Cheat Sheet: argon2id with at least m=19 MiB, t=2, p=1.
OWASP_MIN_MEMORY_KIB = 19456
OWASP_MIN_TIME_COST = 2


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Django's argon2id hasher with our parameters (see authsvc/settings/base.py).

    It keeps the algorithm name `argon2`, so hashes with other parameters still verify and
    Django re-hashes them on the next successful login (`must_update`).
    """

    @property
    def time_cost(self) -> int:
        return settings.AUTHSVC_ARGON2_TIME_COST

    @property
    def memory_cost(self) -> int:
        return settings.AUTHSVC_ARGON2_MEMORY_KIB

    @property
    def parallelism(self) -> int:
        return settings.AUTHSVC_ARGON2_PARALLELISM
