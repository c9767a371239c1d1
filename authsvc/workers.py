"""The gunicorn worker authsvc runs (gunicorn.conf.py): gunicorn's threaded worker, which
with `reuse_port` hands its listening socket over when it stops.

With `reuse_port` each worker listens on a socket of its own, all bound to the same port,
and the kernel spreads new connections over them by their addresses' hash. With one shared
socket, whichever worker woke first accepted: a client opening its connections at once (a
proxy's pool, a load generator) often had every one of them on one worker, for as long as
it kept them alive, while the other worker's core idled (docs/performance.md#the-worker-model).

The cost of a socket per worker is at its stop (recycling after `max_requests`, a reload, a
deploy): the kernel keeps sending the stopping worker's share of new connections to its
socket until it is closed, and gunicorn closes it only once the last request has drained,
seconds later, resetting whatever had queued meanwhile. This worker accepts what is already
queued and closes its sockets as soon as it starts stopping, so new connections go to the
workers that still listen.
"""

from gunicorn.workers.gthread import ThreadWorker as GunicornThreadWorker


class ThreadWorker(GunicornThreadWorker):
    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive and self.cfg.reuse_port and self.sockets:
            self._hand_over_listeners()

    def _hand_over_listeners(self) -> None:
        """Serve the connections already queued on this worker's sockets (each answered
        with `Connection: close`, since the worker is stopping), then close the sockets."""
        for listener in self.sockets:
            while True:
                before = self.nr_conns
                self.accept(listener)  # non-blocking; nothing more queued leaves it as it was
                if self.nr_conns == before:
                    break
            listener.close()
        self.sockets = []
