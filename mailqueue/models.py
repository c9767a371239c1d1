from django.db import models


class QueuedMail(models.Model):
    """One email: written in the transaction of the change that sends it (mailqueue/queue.py),
    sent by the worker (mailqueue/delivery.py), kept a while after for the operators.

    It holds what is needed to build the message (`kind` + `params`), never the message:
    the links in them (a password reset, a verification) are made when the mail is sent, so
    no live credential waits in this table or its backups.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        # Nothing to send when its turn came: a reset asked for an address no active account
        # has, a verification for an address the account no longer has.
        SKIPPED = "skipped"
        # Given up: AUTHSVC_MAIL_MAX_ATTEMPTS failed attempts, or an address the SMTP server
        # refused for good. An operator can put it back (the admin's "Retry now").
        FAILED = "failed"

    id = models.BigAutoField(primary_key=True)
    # A kind a builder is registered for (mailqueue/registry.py), e.g. "password_reset".
    kind = models.CharField(max_length=40)
    # The recipient as queued; the sent address when it went.
    to = models.CharField(max_length=254)
    params = models.JSONField(default=dict)
    # The request that queued it (X-Request-ID): the worker's lines about it name that request.
    request_id = models.CharField(max_length=128, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    # Due from then (pending rows only): now when queued, later after a failed attempt.
    next_attempt_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # When it was sent, skipped or given up.
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "queued mail"
        verbose_name_plural = "queued mail"
        indexes = [
            # The worker's every read: the due rows, soonest first; as small as the backlog.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(status="pending"),
                name="mail_due_idx",
            ),
            # The purge: finished rows by age.
            models.Index(
                fields=["status", "finished_at"],
                condition=~models.Q(status="pending"),
                name="mail_finished_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to} ({self.status})"
