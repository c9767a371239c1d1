"""Templated emails (plain text + HTML), rendered and sent off the request thread.

With AUTHSVC_EMAIL_ASYNC (the default; the tests turn it off) every job given to
`run_in_background` runs on one worker thread, after the response: the request path only
queues it. That keeps the mail server's latency out of the response, and it is what makes
the password reset answer the same for every address: the lookup, the link and the
rendering all happen in the job (see accounts.passwords.password_reset_request).
"""

import logging
import queue
import threading
from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import close_old_connections
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

# Far more than a mail server's worth of backlog; past it jobs are dropped (and logged)
# rather than holding memory without bound while the mail server is down.
QUEUE_SIZE = 1000

_jobs: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
_worker: threading.Thread | None = None
_worker_lock = threading.Lock()


def front_end_link(path: str, **params: str) -> str:
    from urllib.parse import urlencode

    base = settings.AUTHSVC_FRONTEND_URL.rstrip("/")
    return f"{base}/{path.strip('/')}?{urlencode(params)}"


def run_in_background(job: Callable[..., None], /, **kwargs) -> None:
    """Run `job(**kwargs)` on the mail worker (inline when AUTHSVC_EMAIL_ASYNC is off)."""
    if not settings.AUTHSVC_EMAIL_ASYNC:
        _run(job, kwargs)
        return
    _worker_start()
    try:
        _jobs.put_nowait((job, kwargs))
    except queue.Full:
        logger.error("mail queue full; %s dropped", getattr(job, "__name__", job))


def _worker_start() -> None:
    global _worker
    if _worker is not None and _worker.is_alive():
        return
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="authsvc-mail", daemon=True)
            _worker.start()


def _work() -> None:
    while True:
        job, kwargs = _jobs.get()
        # The worker keeps a database connection of its own; drop it when it is too old or
        # broken, as Django does around each request.
        close_old_connections()
        try:
            _run(job, kwargs)
        finally:
            close_old_connections()
            _jobs.task_done()


def _run(job: Callable[..., None], kwargs: dict) -> None:
    try:
        job(**kwargs)
    except Exception:  # the mail server's failure must not become the user's error
        logger.exception("background job %s failed", getattr(job, "__name__", job))


def send_templated_mail(*, template: str, to: str, context: dict) -> None:
    """Render templates/emails/<template>_subject.txt, .txt and .html and send them, in the
    background."""
    run_in_background(deliver_templated_mail, template=template, to=to, context=context)


def deliver_templated_mail(*, template: str, to: str, context: dict) -> None:
    """Render and send now (on the worker, or inline when it is off)."""
    context = {
        "service_name": settings.AUTHSVC_SERVICE_NAME,
        "frontend_url": settings.AUTHSVC_FRONTEND_URL,
        **context,
    }
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=" ".join(subject.splitlines()),
        body=render_to_string(f"emails/{template}.txt", context),
        to=[to],
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    message.send()
