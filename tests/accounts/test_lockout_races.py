"""Parallel wrong passwords: the lockout and the per-IP failed-login limit count each
attempt before the password check, so a burst cannot slip past either."""

import threading

import pytest
from django.db import connections

from accounts.hashers import HASHING, HashingPool
from accounts.models import LoginLockout
from tests.conftest import AuthClient

pytestmark = pytest.mark.django_db(transaction=True)

PARALLEL = 12


def _burst(logins) -> list[int]:
    barrier = threading.Barrier(len(logins))
    statuses = []

    def run(login):
        barrier.wait()
        try:
            statuses.append(login().status_code)
        finally:
            # This thread's own connection, or the test database could not be dropped.
            connections.close_all()

    threads = [threading.Thread(target=run, args=(login,)) for login in logins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


@pytest.fixture
def every_guess_admitted(monkeypatch):
    """A hashing pool that admits the whole burst, so the lockout alone decides
    (accounts/hashers.py refuses a worker's fifth credential check at once)."""
    monkeypatch.setattr(type(HASHING), "_pool", HashingPool(threads=1, queue=PARALLEL, nice=0))


def test_parallel_guesses_cannot_pass_the_lockout(make_user, settings, every_guess_admitted):
    user = make_user(email="raced@example.com")
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "login_failed_ip": "1000/m"}
    free = settings.AUTHSVC_LOGIN_FREE_FAILURES

    statuses = _burst([lambda: AuthClient().login(user.email, "wrong")] * PARALLEL)

    # free failures, then the one whose wait is still 0; every later one waits.
    assert statuses.count(401) == free + 1, statuses
    assert statuses.count(429) == PARALLEL - free - 1, statuses


def test_parallel_guesses_cannot_pass_the_per_ip_limit(make_user, settings):
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "login_failed_ip": "3/m"}
    emails = [make_user().email for _ in range(PARALLEL)]

    statuses = _burst([lambda email=email: AuthClient().login(email, "wrong") for email in emails])

    assert statuses.count(401) == 3, statuses
    assert statuses.count(429) == PARALLEL - 3, statuses


def test_a_burst_beyond_the_hashing_slots_cannot_pass_the_lockout_either(make_user, settings):
    # The real pool: of the burst, those that find every slot taken answer 503 at once.
    user = make_user(email="stormed@example.com")
    settings.AUTHSVC_RATE_LIMITS = {**settings.AUTHSVC_RATE_LIMITS, "login_failed_ip": "1000/m"}
    free = settings.AUTHSVC_LOGIN_FREE_FAILURES

    statuses = _burst([lambda: AuthClient().login(user.email, "wrong")] * PARALLEL)

    assert len(statuses) == PARALLEL
    assert set(statuses) <= {401, 429, 503}, statuses
    assert statuses.count(401) <= free + 1, statuses
    # A refused guess was never counted: the lockout holds exactly the ones checked.
    assert LoginLockout.objects.get().failures == statuses.count(401), statuses
