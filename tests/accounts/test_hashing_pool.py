"""The password-hashing pool (accounts/hashers.py): argon2 on a few low-priority threads of
its own, and admission that refuses a credential check at once when every slot is taken."""

import os
import sys
import threading
import time

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, make_password

from accounts.exceptions import HashingBusy
from accounts.hashers import HASHING, HashingPool
from accounts.models import LoginLockout
from audit.models import AuthEvent
from tests.conftest import DEFAULT_PASSWORD


def _concurrently(pool: HashingPool, callers: int, seconds: float):
    """`callers` threads each run one job of `seconds` on the pool; the most jobs seen
    running at once, and what each caller got (True, or the exception)."""
    running, peak, lock = 0, 0, threading.Lock()
    results = [None] * callers

    def job():
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(seconds)
        with lock:
            running -= 1
        return True

    def caller(i):
        try:
            results[i] = pool.run(job)
        except HashingBusy as exc:
            results[i] = exc

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return peak, results


def test_the_pool_runs_at_most_its_threads_at_once_and_queues_the_rest():
    pool = HashingPool(threads=1, queue=2, nice=0)

    peak, results = _concurrently(pool, callers=3, seconds=0.1)

    assert peak == 1
    assert results == [True, True, True]


def test_beyond_threads_and_queue_a_caller_is_refused_at_once():
    pool = HashingPool(threads=2, queue=1, nice=0)

    started = time.perf_counter()
    peak, results = _concurrently(pool, callers=6, seconds=0.3)

    assert peak == 2
    assert results.count(True) == 3
    refused = [r for r in results if isinstance(r, HashingBusy)]
    assert len(refused) == 3
    assert refused[0].code == "unavailable" and refused[0].retry_after == 1
    # Three admitted jobs on two threads: two rounds; nobody waited for a slot.
    assert time.perf_counter() - started < 0.9
    # Every slot is given back.
    assert pool.run(lambda: "again") == "again"


def test_a_slot_is_reentrant_within_its_thread():
    pool = HashingPool(threads=1, queue=0, nice=0)

    with pool.admitted():
        # The re-hash after a verify runs inside the verify's slot.
        assert pool.run(str, 5) == "5"
        assert pool.run(str, 7) == "7"
        other = []
        thread = threading.Thread(target=lambda: other.append(_try(pool)))
        thread.start()
        thread.join()
    assert isinstance(other[0], HashingBusy)
    assert pool.run(str, 6) == "6"


def _try(pool):
    try:
        return pool.run(int)
    except HashingBusy as exc:
        return exc


@pytest.mark.skipif(sys.platform != "linux", reason="thread priorities are Linux's")
def test_the_hashing_threads_lower_their_own_priority_only():
    me = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    pool = HashingPool(threads=1, queue=0, nice=5)

    theirs = pool.run(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    assert theirs == min(19, me + 5)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == me
    assert os.getpriority(os.PRIO_PROCESS, 0) == me


def _recording(monkeypatch, name):
    seen = []
    real = getattr(Argon2PasswordHasher, name)

    def record(self, *args):
        seen.append(threading.current_thread().name)
        return real(self, *args)

    monkeypatch.setattr(Argon2PasswordHasher, name, record)
    return seen


def test_every_argon2_hash_and_verify_runs_on_the_pool(monkeypatch):
    encoded_on = _recording(monkeypatch, "encode")
    verified_on = _recording(monkeypatch, "verify")

    encoded = make_password("a long enough password")
    assert check_password("a long enough password", encoded)
    assert not check_password("another password", encoded)

    assert len(encoded_on) == 1 and len(verified_on) == 2
    assert all(name.startswith("authsvc-hashing") for name in encoded_on + verified_on)


@pytest.mark.django_db
def test_an_unknown_email_still_pays_one_hash_on_the_pool(api, user, monkeypatch):
    encoded_on = _recording(monkeypatch, "encode")
    verified_on = _recording(monkeypatch, "verify")

    assert api.login("nobody@example.com", "some password here").status_code == 401
    assert api.login(user.email, "a wrong password here").status_code == 401

    # One hash for the unknown address, one verify for the wrong password: the same cost,
    # on the same threads.
    assert len(encoded_on) == 1 and len(verified_on) == 1
    assert encoded_on[0].startswith("authsvc-hashing")
    assert verified_on[0].startswith("authsvc-hashing")


@pytest.mark.django_db
def test_a_login_storm_is_refused_with_503_before_anything_is_counted(api, user):
    taken = []
    while HASHING._slots.acquire(blocking=False):
        taken.append(1)
    try:
        assert len(taken) == HASHING.threads + HASHING.queue
        response = api.login(user.email, DEFAULT_PASSWORD)
    finally:
        for _ in taken:
            HASHING._slots.release()

    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"
    assert response["Retry-After"] == "1"
    assert "access_token" not in response.cookies
    # Neither counted against the account nor audited as a failure.
    assert not LoginLockout.objects.exists()
    assert not AuthEvent.objects.filter(type__startswith="login_").exists()

    # With the slots free again the same login goes through, and gives its slot back.
    assert api.login(user.email, DEFAULT_PASSWORD).status_code == 200
    assert AuthEvent.objects.filter(type="login_succeeded").count() == 1
    assert HASHING._slots.acquire(blocking=False)
    HASHING._slots.release()
