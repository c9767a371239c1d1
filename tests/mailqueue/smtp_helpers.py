"""A real SMTP server of the test's own (aiosmtpd) on a free port, keeping what it receives.

with SmtpServer() as smtp, TcpProxy("127.0.0.1", smtp.port) as proxy:
    settings.EMAIL_PORT = proxy.port     # the service talks to the proxy
    proxy.refuse()                       # the mail server is down
    proxy.restore()                      # back
    smtp.messages                        # what arrived, as email.message.EmailMessage
"""

import asyncio
import email
import email.policy
import threading

from aiosmtpd.controller import Controller

from tests.faults import free_port


class _Handler:
    def __init__(self, server: "SmtpServer"):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.server.refused:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.server.lock:
            held, self.server.holding = self.server.holding, False
        if held:
            # This one message waits here (a slow server, mid-delivery) until released;
            # other connections are served meanwhile.
            self.server.held.set()
            while not self.server.gate.is_set():
                await asyncio.sleep(0.01)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.server.lock:
            self.server.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.lock = threading.Lock()
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []
        self.refused: set[str] = set()
        self.holding = False
        self.held = threading.Event()
        self.gate = threading.Event()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list:
        with self.lock:
            return [message for _, message in self.received]

    @property
    def recipients(self) -> list[str]:
        with self.lock:
            return [rcpt for rcpts, _ in self.received for rcpt in rcpts]

    def hold_next(self) -> None:
        """The next message's DATA waits until `release()`; `held` is set once it does."""
        self.gate.clear()
        self.holding = True

    def release(self) -> None:
        self.gate.set()

    def __enter__(self) -> "SmtpServer":
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.gate.set()
        self._controller.stop()


def body_text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()
