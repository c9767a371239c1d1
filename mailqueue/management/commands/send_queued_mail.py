import signal
import threading

from django.core.management.base import BaseCommand

from mailqueue.delivery import mail_retry
from mailqueue.worker import MailWorker


class Command(BaseCommand):
    help = (
        "Send the queued mail (verification, password reset, email change) through "
        "EMAIL_BACKEND, retrying with backoff while the SMTP server is down. Runs until "
        "SIGTERM or SIGINT; any number may run (they share the queue, no mail goes twice). "
        "--once: send what is due, then exit."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="send what is due, then exit")
        parser.add_argument(
            "--retry-failed",
            action="store_true",
            help="first put every mail that was given up back in the queue, due now",
        )

    def handle(self, *args, once, retry_failed, **options):
        if retry_failed:
            self.stdout.write(f"Queued {mail_retry()} given-up mail(s) again.")
        stop = threading.Event()
        worker = MailWorker(stop=stop)
        if once:
            self.stdout.write(str(worker.once()))
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        worker.run()
