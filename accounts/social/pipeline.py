"""The social-auth pipeline step that hands Google's answer to our services.

The callback view passes `client` and, when a signed-in user is linking, `link_user_id`
through `backend.complete(...)`; social-auth forwards them here.
"""

from accounts.social.services import google_link, google_user_resolve


def resolve_user(*, uid, details, response, client=None, link_user_id=None, **kwargs):
    email = details.get("email") or ""
    if link_user_id:
        google_link(user_id=link_user_id, uid=str(uid), email=email, client=client)
        return {"user": None}
    user, is_new = google_user_resolve(
        uid=str(uid),
        email=email,
        email_verified=response.get("email_verified") is True,
        name=details.get("fullname") or "",
        client=client,
    )
    return {"user": user, "is_new": is_new}
