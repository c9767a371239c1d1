"""The service-client admin's forms. Scopes and audiences are typed as text, one a line or
separated by spaces or commas, and checked by the service's own rules (`clean_scopes`,
`clean_audiences`), so the admin accepts exactly what the command and the service do."""

import re

from django import forms

from authsvc.errors import ServiceError
from tokens.models import ServiceClient
from tokens.service_clients import (
    NAME_MAX_LENGTH,
    SCOPE_INTROSPECT,
    SCOPE_SESSION_CLAIMS,
    clean_audiences,
    clean_scopes,
)

_SEPARATORS = re.compile(r"[\s,]+")
SCOPES_HELP = (
    f"One a line, or separated by spaces or commas. authsvc's own: {SCOPE_INTROSPECT} "
    f"(POST /auth/verify/), {SCOPE_SESSION_CLAIMS} (PUT /auth/sessions/<sid>/claims/)."
)
AUDIENCES_HELP = (
    "The services it may get tokens for (the token's aud), one a line, or separated by "
    "spaces or commas. authsvc's own audience is always allowed."
)


def service_error_messages(exc: ServiceError, field: str | None = None) -> list[str]:
    """What a ServiceError says about `field` (or about anything, when `field` is None)."""
    fields = exc.fields or {}
    if field is not None and field in fields:
        return list(fields[field])
    if field is None and fields:
        return [message for messages in fields.values() for message in messages]
    return [exc.detail]


def add_service_error(form: forms.Form, exc: ServiceError) -> None:
    """Show a service's refusal on the form, beside the fields it names."""
    fields = exc.fields or {}
    for field, messages in fields.items():
        form.add_error(field if field in form.fields else None, list(messages))
    if not fields:
        form.add_error(None, exc.detail)


class WordListField(forms.CharField):
    """A list of words, cleaned by `cleaner` (a service's `clean_*`), whose ServiceError
    becomes this field's error."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def __init__(self, *, cleaner, error_field: str, **kwargs):
        self.cleaner = cleaner
        self.error_field = error_field
        super().__init__(required=False, strip=True, **kwargs)

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        return [word for word in _SEPARATORS.split(super().to_python(value)) if word]

    def clean(self, value):
        words = super().clean(value)
        try:
            return self.cleaner(words)
        except ServiceError as exc:
            raise forms.ValidationError(service_error_messages(exc, self.error_field)) from exc


def scopes_field() -> WordListField:
    return WordListField(cleaner=clean_scopes, error_field="scopes", help_text=SCOPES_HELP)


def audiences_field() -> WordListField:
    return WordListField(cleaner=clean_audiences, error_field="audiences", help_text=AUDIENCES_HELP)


class ServiceClientCreateForm(forms.Form):
    name = forms.CharField(
        max_length=NAME_MAX_LENGTH, help_text="A unique name for the service, e.g. billing."
    )
    scopes = scopes_field()
    audiences = audiences_field()


class ServiceClientChangeForm(forms.ModelForm):
    """What may change on a client; the name, the id and the secret's hash may not."""

    scopes = scopes_field()
    audiences = audiences_field()

    class Meta:
        model = ServiceClient
        fields = ("scopes", "audiences")
