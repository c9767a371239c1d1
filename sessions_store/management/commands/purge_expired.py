from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.bans import bans_expired_lift
from accounts.lockout import lockouts_purge
from accounts.login_codes import login_codes_purge
from accounts.mfa.challenge import challenges_purge
from accounts.passkeys.challenge import passkey_challenges_purge
from audit.outbox import outbox_purge
from audit.retention import events_purge
from authsvc import clock
from mailqueue.delivery import mail_purge
from sessions_store.purge import sessions_purge
from sessions_store.revocations import pending_tombstones_purge
from tokens.purge import refresh_tokens_purge
from tokens.rotation import signing_keys_retire


class Command(BaseCommand):
    help = (
        "Delete what is dead: expired refresh tokens, sessions revoked or expired more than "
        "AUTHSVC_DEAD_SESSION_RETENTION_DAYS ago (with their tokens), audit events older than "
        "AUTHSVC_AUDIT_RETENTION_DAYS, outbox events published more than "
        "AUTHSVC_EVENTS_OUTBOX_RETENTION_HOURS ago, mail sent more than "
        "AUTHSVC_MAIL_RETENTION_HOURS ago (given up: AUTHSVC_MAIL_FAILED_RETENTION_DAYS), "
        "expired 2FA challenges and sign-in codes, lockout streaks and pending tombstones; "
        "lift temporary bans that have ended; retire signing keys whose tokens have all "
        "expired. Deletes in "
        "small batches, so it is safe to run from cron while the service is up (e.g. hourly)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=settings.AUTHSVC_PURGE_BATCH_SIZE,
            help="rows per DELETE statement (default AUTHSVC_PURGE_BATCH_SIZE, %(default)s)",
        )

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        now = clock.now()
        tokens = refresh_tokens_purge(now=now, batch_size=batch_size)
        sessions = sessions_purge(
            now=now,
            retention=timedelta(days=settings.AUTHSVC_DEAD_SESSION_RETENTION_DAYS),
            batch_size=batch_size,
        )
        events = events_purge(
            now=now, retention_days=settings.AUTHSVC_AUDIT_RETENTION_DAYS, batch_size=batch_size
        )
        # Leftovers: 2FA and passkey challenges and sign-in codes never answered, lockout
        # streaks forgotten after a day, pending tombstones no cached snapshot can outlive.
        leftovers = (
            challenges_purge(now=now, batch_size=batch_size)
            + passkey_challenges_purge(now=now, batch_size=batch_size)
            + login_codes_purge(now=now, batch_size=batch_size)
            + lockouts_purge(now=now, batch_size=batch_size)
            + pending_tombstones_purge(now=now, batch_size=batch_size)
        )
        published = outbox_purge(
            now=now,
            retention=timedelta(hours=settings.AUTHSVC_EVENTS_OUTBOX_RETENTION_HOURS),
            batch_size=batch_size,
        )
        mail = mail_purge(
            now=now,
            retention=timedelta(hours=settings.AUTHSVC_MAIL_RETENTION_HOURS),
            failed_retention=timedelta(days=settings.AUTHSVC_MAIL_FAILED_RETENTION_DAYS),
            batch_size=batch_size,
        )
        bans = bans_expired_lift()
        keys = signing_keys_retire(now=now)
        self.stdout.write(
            f"Deleted {tokens} expired refresh token(s), {sessions} dead session(s), "
            f"{events} old event(s), {published} published outbox event(s), {mail} old mail(s), "
            f"{leftovers} expired challenge/code/lockout/pending row(s); "
            f"lifted {bans} ended ban(s); retired {len(keys)} key(s)."
        )
