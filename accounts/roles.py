"""Roles are Django groups; their names are the `roles` of the session snapshot and the
access token. A change reaches the snapshot at once and the token at the next refresh."""

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.db import transaction

from accounts.exceptions import InvalidRequest
from accounts.models import User
from audit import events
from authsvc.http import ClientInfo
from sessions_store.services import user_snapshots_refresh

DEFAULT_ROLE = "user"
ADMIN_ROLE = "admin"
# Created by the accounts data migration; others are created in the admin (Groups).
BUILTIN_ROLES = (DEFAULT_ROLE, ADMIN_ROLE)


def user_roles(user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def role_default_grant(*, user: User) -> None:
    # get_or_create: the group comes from a data migration, but a flushed database
    # (transactional tests, a restored dump) must not make registration fail.
    group, _ = Group.objects.get_or_create(name=DEFAULT_ROLE)
    user.groups.add(group)


@transaction.atomic
def user_roles_set(
    *, user: User, roles: Iterable[str], by: User | None = None, client: ClientInfo | None = None
) -> list[str]:
    """Replace the user's roles. Unknown names are refused rather than created, so a typo
    cannot invent a role; the built-in ones always exist."""
    names = sorted({name.strip() for name in roles if name.strip()})
    groups = {g.name: g for g in Group.objects.filter(name__in=names)}
    for name in set(BUILTIN_ROLES) & set(names) - set(groups):
        groups[name] = Group.objects.create(name=name)
    unknown = sorted(set(names) - set(groups))
    if unknown:
        raise InvalidRequest(
            f"Unknown role(s): {', '.join(unknown)}.",
            fields={"roles": [f"Unknown role: {name}." for name in unknown]},
        )
    before = user_roles(user)
    user.groups.set(groups.values())
    user_roles_changed(user=user, before=before, by=by, client=client)
    return names


def user_roles_changed(
    *, user: User, before: list[str], by: User | None = None, client: ClientInfo | None = None
) -> None:
    """After the groups of a user changed (here or in the admin form): re-cache the
    snapshots, so `HasRole` sees the change at once and the next refresh's token carries it."""
    after = user_roles(user)
    if after == before:
        return
    user_snapshots_refresh(user=user)
    events.record(
        "roles_changed",
        user_id=str(user.pk),
        client=client,
        before=before,
        after=after,
        by=str(by.pk) if by else None,
    )
