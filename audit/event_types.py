"""The events other services read from the stream: every type, what it means and its `data`
fields, in one place. `outbox_append` refuses a `data` with other keys, and docs/events.md is
rendered from this registry (`manage.py events_doc`; a test fails when they differ).

Nothing here may ever hold a password, a token, a secret or a code: ids, names, counts and
times only.
"""

EVENT_TYPES: dict[str, dict] = {
    "user.registered": {
        "summary": "An account was created.",
        "data": {"method": '`"password"` (registration) or `"google"` (first Google login)'},
    },
    "session.created": {
        "summary": "A session began (any login: password, code, Google, 2FA, admin).",
        "data": {
            "amr": "the methods the login used, as in the access token (`pwd`, `otp`, ...)",
            "kind": '`"api"` (cookies and tokens) or `"admin"` (the admin site)',
        },
    },
    "session.revoked": {
        "summary": "A session ended before its expiry; one event per session.",
        "data": {
            "reason": "why: `logout`, `logout_all`, `revoked_by_user`, `revoked_by_operator`, "
            "`banned`, `password_changed`, `password_reset`, `password_set`, `email_changed`, "
            "`mfa_enabled`, `mfa_disabled`, `mfa_reset`, `passkey_added`, `passkey_deleted`, "
            "`refresh_token_reused`, `deactivated`, `user_deleted`, `admin_logout`"
        },
    },
    "user.banned": {
        "summary": "The user may no longer log in; their sessions are revoked too.",
        "data": {
            "until": "end of the ban (RFC 3339), `null` when permanent",
            "by": "id of the operator, `null` when not known",
        },
    },
    "user.unbanned": {
        "summary": "A ban was lifted, by an operator or because it ended.",
        "data": {
            "by": "id of the operator, `null` when the ban ended by itself",
            "expired": "`true` when the ban ended by itself",
        },
    },
    "user.roles_changed": {
        "summary": "The user's roles changed.",
        "data": {
            "roles": "the roles now, sorted",
            "previous_roles": "the roles before, sorted",
            "by": "id of the operator, `null` when not known",
        },
    },
    "password.changed": {
        "summary": "The password was changed by its owner or set by an operator.",
        "data": {
            "by": "id of the operator, `null` when the owner changed it",
            "sessions_revoked": "how many sessions ended with it",
        },
    },
    "password.reset": {
        "summary": "The password was reset through the emailed link.",
        "data": {"sessions_revoked": "how many sessions ended with it"},
    },
    "email.changed": {
        "summary": "The address was changed (the new one is confirmed).",
        "data": {"sessions_revoked": "how many sessions ended with it"},
    },
    "mfa.enabled": {
        "summary": "A second factor was enrolled.",
        "data": {"method": '`"totp"`'},
    },
    "mfa.disabled": {
        "summary": "The second factors were removed, by the user or an operator.",
        "data": {"by": "id of the operator, `null` when the user removed them"},
    },
    "refresh_token.reused": {
        "summary": "A used refresh token was presented again: theft is assumed and the "
        "session is revoked (a `session.revoked` with reason `refresh_token_reused` follows).",
        "data": {},
    },
}


def data_fields(event_type: str) -> frozenset[str]:
    return frozenset(EVENT_TYPES[event_type]["data"])


def markdown() -> str:
    """docs/events.md."""
    lines = [
        "# Events",
        "",
        "<!-- Generated from audit/event_types.py by `manage.py events_doc`; do not edit. -->",
        "",
        "authsvc publishes every security event to the Redis Stream `AUTHSVC_EVENTS_STREAM`",
        "(default `authsvc:events`), after the transaction that made the change commits: at",
        "least once, in commit order (see [Services](services.md#events)). Each entry has the",
        "fields `id` (UUID, the deduplication key), `type`, `occurred_at` (RFC 3339), `user_id`,",
        "`session_id` (empty when the event is about no one session) and `data` (a JSON object,",
        "as a string). No field ever holds a password, a token, a secret or a code.",
        "",
    ]
    for event_type, spec in EVENT_TYPES.items():
        lines += [f"## `{event_type}`", "", spec["summary"], ""]
        if spec["data"]:
            lines += ["| `data` field | meaning |", "|---|---|"]
            lines += [f"| `{name}` | {meaning} |" for name, meaning in spec["data"].items()]
        else:
            lines.append("`data` is `{}`.")
        lines.append("")
    return "\n".join(lines)
