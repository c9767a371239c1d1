import pytest

from mailqueue import registry
from tests.faults import TcpProxy
from tests.mailqueue.smtp_helpers import SmtpServer


@pytest.fixture
def smtp(settings):
    """A real SMTP server behind a proxy the test can cut; EMAIL_* point at the proxy."""
    with SmtpServer() as server, TcpProxy("127.0.0.1", server.port) as proxy:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = proxy.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_TIMEOUT = 5
        server.proxy = proxy
        yield server


@pytest.fixture
def note_kind(monkeypatch):
    """A kind of the test's own: params {"to", "subject"} become a one-line message."""
    from django.core.mail import EmailMessage

    def build(params):
        return registry.Built(
            EmailMessage(subject=params["subject"], body="note\n", to=[params["to"]])
        )

    monkeypatch.setitem(registry._builders, "note", build)
    return "note"
