import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit.relay_loop import RelayLoop
from authsvc import metrics


class Command(BaseCommand):
    help = (
        "Publish the outbox to the Redis Stream AUTHSVC_EVENTS_STREAM, in commit order, and "
        "mark what was published. Runs until SIGTERM or SIGINT; several may run (one leads, "
        "the others stand by). --once: one drain, then exit."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="publish what waits, then exit")
        parser.add_argument(
            "--metrics-port",
            type=int,
            help="serve the relay's Prometheus metrics on this port (GET /metrics)",
        )
        parser.add_argument(
            "--metrics-address",
            default="127.0.0.1",
            help="address of --metrics-port (default 127.0.0.1; there is no allow-list)",
        )

    def handle(self, *args, once, metrics_port, metrics_address, **options):
        if not settings.REDIS_URL:
            raise CommandError("REDIS_URL is not set: there is no stream to publish to.")
        if not settings.AUTHSVC_EVENTS_ENABLED:
            raise CommandError("AUTHSVC_EVENTS_ENABLED is off: nothing is written to publish.")
        stop = threading.Event()
        loop = RelayLoop(stop=stop)
        if once:
            published = loop.once()
            if published is None:
                raise CommandError("Another relay holds the lock; nothing published.")
            self.stdout.write(f"Published {published} event(s).")
            return
        if metrics_port is not None:
            metrics.serve_this_process(port=metrics_port, address=metrics_address)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        loop.run()
