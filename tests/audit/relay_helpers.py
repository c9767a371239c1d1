"""A relay running in a thread of the test, the way `manage.py relay_events` runs it."""

import contextlib
import threading
import time

from audit.relay_loop import RelayLoop


@contextlib.contextmanager
def relay_running(client=None):
    loop = RelayLoop(client)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive()


def wait_for(predicate, timeout: float, step: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()
