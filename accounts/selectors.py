"""Reads about users for operators (the admin API and the admin site)."""

from django.contrib.auth.models import Group
from django.db.models import Prefetch, QuerySet

from accounts.exceptions import UserNotFound
from accounts.mfa.devices import has_totp_annotation
from accounts.models import User


def users_for_operators() -> QuerySet[User]:
    """Users with what an operator's list shows: roles and whether 2FA is on."""
    return (
        User.objects.annotate(has_totp=has_totp_annotation())
        .prefetch_related(Prefetch("groups", queryset=Group.objects.order_by("name")))
        .order_by("-date_joined", "pk")
    )


def user_get(*, user_id) -> User:
    user = users_for_operators().filter(pk=user_id).first()
    if user is None:
        raise UserNotFound()
    return user
