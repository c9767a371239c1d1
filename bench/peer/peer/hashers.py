"""argon2id with authsvc's cost, taken from the same variables (bench/config.py sets them)."""

import os

from django.contrib.auth.hashers import Argon2PasswordHasher


class SameCostArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = int(os.environ["AUTHSVC_ARGON2_TIME_COST"])
    memory_cost = int(os.environ["AUTHSVC_ARGON2_MEMORY_KIB"])
    parallelism = int(os.environ["AUTHSVC_ARGON2_PARALLELISM"])
