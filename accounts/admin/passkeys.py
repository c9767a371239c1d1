"""A user's passkeys on their admin page: read-only, deletable by an operator (a lost or
stolen authenticator) through the same service as the user's own delete, audited with the
operator's id."""

from django.contrib import admin

from accounts.models import Passkey
from accounts.passkeys.services import passkey_delete
from authsvc.http import client_info


class PasskeyInline(admin.TabularInline):
    model = Passkey
    extra = 0
    max_num = 0  # no adding here: only the user's browser can create a passkey
    can_delete = True
    fields = readonly_fields = (
        "name",
        "kind",
        "created_at",
        "last_used_at",
        "sign_count",
        "aaguid",
        "transports",
    )
    verbose_name_plural = "passkeys (delete one the user lost; the password remains)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="kind")
    def kind(self, passkey: Passkey) -> str:
        return "synced (swk)" if passkey.backup_eligible else "device-bound (hwk)"


def passkey_formset_save(request, formset) -> None:
    """Save the inline: only deletions exist, each through `passkey_delete`."""
    deleted = []
    for form in formset.deleted_forms:
        if form.instance.pk:
            passkey_delete(passkey=form.instance, client=client_info(request), by=request.user)
            deleted.append(form.instance)
    # What BaseModelFormSet.save() would leave for the admin's change message.
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], deleted
