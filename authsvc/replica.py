"""A read replica (`DATABASE_REPLICA_URL`) for chosen reads, and the router that keeps the
rest on the primary.

A replica lags: what it answers may be a moment old. So it serves only reads where a
moment-old answer is harmless and nothing is decided from it: the user's session list
(`/auth/sessions/`), the admin's changelists and the admin user page's sessions and recent
events (the audit log). Everything else reads the primary, because the code names the
replica (`replica()`) at those few places and nowhere else: login, token and session
validity, revocation checks, the lockout, 2FA, refresh rotation, and every read that a write
follows (a snapshot built from a stale row would be cached).

While the replica is unreachable (its breaker is open, authsvc/postgres) those reads go to
the primary rather than fail.
"""

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from authsvc.postgres.outage import breaker_for

REPLICA = "replica"


def replica() -> str:
    """The alias for a read the replica may serve: the replica when one is configured and
    answering, else the primary."""
    if REPLICA not in settings.DATABASES:
        return DEFAULT_DB_ALIAS
    if breaker_for(connections[REPLICA].settings_dict).is_open:
        return DEFAULT_DB_ALIAS
    return REPLICA


class PrimaryReplicaRouter:
    """Writes always to the primary, even of a row read from the replica; reads where the
    code does not name the replica, to the primary too (Django's default: the alias the
    instance came from, else `default`). Migrations run on the primary only: the replica
    replays them."""

    def db_for_read(self, model, **hints):
        return None

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # The same rows, whichever copy they were read from.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


class ReplicaChangelistMixin:
    """For a ModelAdmin: a changelist page (GET) reads its rows and counts from the
    replica. Its actions (POST), the change pages and every permission check stay on the
    primary: an action's queryset must be current, and is written through."""

    def changelist_view(self, request, extra_context=None):
        request.authsvc_replica_reads = request.method == "GET"
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request):
        return self.on_replica(request, super().get_queryset(request))

    @staticmethod
    def on_replica(request, queryset):
        """`queryset` on the replica when `request` is a changelist page (for a ModelAdmin
        whose own `get_queryset` does not call super)."""
        if getattr(request, "authsvc_replica_reads", False):
            return queryset.using(replica())
        return queryset
