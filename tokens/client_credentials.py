"""The OAuth 2.0 client-credentials grant (RFC 6749 §4.4): a service client trades its id
and secret for a service token. The view (`tokens.views_service.TokenView`) reads the form
and the Basic header; the rules are here."""

from audit import events
from authsvc.errors import ServiceError
from authsvc.ratelimit import rate_limit
from tokens.conf import token_settings
from tokens.service_clients import service_client_authenticate
from tokens.service_tokens import IssuedServiceToken, service_token_issue

GRANT_TYPE = "client_credentials"


class UnsupportedGrantType(ServiceError):
    code = "unsupported_grant_type"
    kind = "invalid"


class InvalidScope(ServiceError):
    code = "invalid_scope"
    kind = "invalid"


def client_credentials_grant(
    *,
    client_id: str,
    secret: str,
    grant_type: str | None,
    scope: str | None,
    audience: str | None,
    client=None,
) -> IssuedServiceToken:
    """A service token for the client, or InvalidClient / ServiceError with the RFC's code.

    `scope` omitted (or empty) means every scope the client may ask for; `audience`
    omitted means the first audience the client was given, else authsvc's own.
    """
    if not grant_type:
        raise ServiceError("grant_type is required.")
    if grant_type != GRANT_TYPE:
        raise UnsupportedGrantType()
    try:
        record = service_client_authenticate(client_id=client_id, secret=secret)
    except ServiceError:
        events.record("service_client_auth_failed", client=client, client_id=client_id[:64])
        raise
    rate_limit(None, group="service_token_client", key=record.client_id)
    if scope:
        requested = list(dict.fromkeys(scope.split(" ")))
        if "" in requested or not set(requested) <= record.scopes:
            raise InvalidScope()
    else:
        requested = sorted(record.scopes)
    if audience is None or audience == "":
        audience = record.audiences[0] if record.audiences else token_settings.audience
    if not record.may_address(audience):
        raise ServiceError("This client may not request a token for that audience.")
    issued = service_token_issue(client=record, scopes=requested, audience=audience)
    events.record(
        "service_token_issued",
        client=client,
        client_id=record.client_id,
        audience=audience,
        scope=issued.scope,
    )
    return issued
