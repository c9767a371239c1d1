"""Every event type, published through the real flows, and every stream entry scanned for what
must never leave authsvc: passwords, tokens, secrets, codes. Each entry's `data` has exactly
the registry's fields (audit/event_types.py, docs/events.md)."""

import json
import re

import pytest
from django.core.management import call_command

from accounts.bans import user_ban, user_unban
from accounts.email_change import email_change_confirm
from accounts.models import User
from accounts.passwords import password_reset_confirm, reset_uid
from accounts.roles import user_roles_set
from accounts.tokens import email_change_key_make, reset_tokens
from audit.event_types import EVENT_TYPES, data_fields
from authsvc.http import ClientInfo
from sessions_store.models import Session
from tests.accounts.mfa_helpers import enrol
from tests.audit.outbox_helpers import reuse_refresh_token, stream_entries
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "an0ther-Secret-passphrase"
RESET_PASSWORD = "y3t-another-Secret-phrase"
JWT = re.compile(r"eyJ[\w-]+\.[\w-]+")
CLIENT = ClientInfo(ip="203.0.113.9", user_agent="tests")


def test_every_event_type_is_published_without_a_secret(client_factory, clock, make_user):
    secrets = [DEFAULT_PASSWORD, NEW_PASSWORD, RESET_PASSWORD]
    api = client_factory()
    assert api.register(email="eve@example.com").status_code == 201
    user = User.objects.get(email="eve@example.com")
    secrets += [api.cookie("access_token"), api.cookie("refresh_token")]

    reuse_refresh_token(api, client_factory(), clock)
    secrets += [api.cookie("access_token"), api.cookie("refresh_token")]

    api = client_factory()
    assert api.login(user.email).status_code == 200
    enrolled = enrol(api, clock)
    secrets += [*enrolled.backup_codes, enrolled.totp.secret, enrolled.code(clock)]
    code = enrolled.code(clock)
    secrets.append(code)
    disabled = api.post_json("/auth/2fa/disable/", {"password": DEFAULT_PASSWORD, "code": code})
    assert disabled.status_code == 200, disabled.content

    changed = api.post_json(
        "/auth/password/change/",
        {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 200, changed.content
    user.refresh_from_db()
    token = reset_tokens.make_token(user)
    secrets.append(token)
    password_reset_confirm(
        uid=reset_uid(user), token=token, new_password=RESET_PASSWORD, client=CLIENT
    )
    assert api.login(user.email, RESET_PASSWORD).status_code == 200
    sid = str(Session.objects.filter(user=user, revoked_at__isnull=True).get().pk)
    user.refresh_from_db()
    key = email_change_key_make(user=user, new_email="eve2@example.com", session_id=sid)
    secrets.append(key)
    email_change_confirm(key=key, client=CLIENT)

    operator = make_user(is_staff=True)
    user_roles_set(user=user, roles=["admin"], by=operator)
    user_ban(user=user, reason="a reason no other service needs", by=operator)
    user_unban(user=user, by=operator)

    call_command("relay_events", "--once")
    entries = stream_entries()
    assert {e["type"] for e in entries} == set(EVENT_TYPES)
    for entry in entries:
        assert set(entry["data"]) == data_fields(entry["type"]), entry
        text = json.dumps(entry)
        assert not JWT.search(text), entry
        for secret in filter(None, secrets):
            assert secret not in text, (entry["type"], secret)
        for word in ("password", "secret", "token", "code"):
            assert not any(word in key for key in entry["data"]), entry
        assert "a reason no other service needs" not in text
