"""The service clients in the admin: the list, the add page, the change page (scopes and
audiences), secret rotation, and the disable / enable actions.

Every write calls `tokens.service_clients` with the operator's id as `by`, so the audit
event names them; nothing here saves a client itself. A client is never deleted (its
audit trail would point at nothing): it is disabled instead.

A secret is shown once, in the answer to the POST that made it (`Cache-Control:
no-store`), never in a redirect: a Django message would carry it in a cookie or the
session, and a LogEntry would keep it in the database.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path

from authsvc.errors import ServiceError
from authsvc.http import response_no_store
from tokens.admin.forms import ServiceClientChangeForm, ServiceClientCreateForm, add_service_error
from tokens.models import ServiceClient
from tokens.service_clients import (
    ServiceClientNotFound,
    service_client_create,
    service_client_disable,
    service_client_enable,
    service_client_rotate_secret,
    service_client_update,
)

TEMPLATES = "admin/tokens/serviceclient/"


def _by(request) -> str:
    return str(request.user.pk)


@admin.register(ServiceClient)
class ServiceClientAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "client_id",
        "scope_list",
        "audience_list",
        "is_active",
        "created_at",
        "secret_rotated_at",
        "last_used_at",
    )
    list_filter = ("is_active",)
    search_fields = ("name", "client_id")
    actions = ("disable_clients", "enable_clients")
    form = ServiceClientChangeForm
    # The secret's hash is in none of these: it is never shown.
    fields = (
        "name",
        "client_id",
        "scopes",
        "audiences",
        "is_active",
        "created_at",
        "secret_rotated_at",
        "secret_version",
        "last_used_at",
        "disabled_at",
    )
    readonly_fields = tuple(f for f in fields if f not in ("scopes", "audiences"))

    def has_delete_permission(self, request, obj=None):
        # Disable instead: the audit events keep naming a client that still exists.
        return False

    def get_urls(self):
        rotate = self.admin_site.admin_view(self.rotate_view)
        return [
            path("<uuid:object_id>/rotate-secret/", rotate, name="tokens_serviceclient_rotate"),
            *super().get_urls(),
        ]

    @admin.display(description="scopes")
    def scope_list(self, client):
        return " ".join(client.scopes) or "-"

    @admin.display(description="audiences")
    def audience_list(self, client):
        return " ".join(client.audiences) or "-"

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ServiceClientCreateForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            try:
                client, secret = service_client_create(**form.cleaned_data, by=_by(request))
            except ServiceError as exc:
                add_service_error(form, exc)
            else:
                self.log_addition(request, client, [{"added": {}}])
                return self._secret_page(request, client, secret, "Service client created")
        context = {
            **self.admin_site.each_context(request),
            "title": "Add service client",
            "opts": self.opts,
            "form": form,
            **(extra_context or {}),
        }
        return TemplateResponse(request, TEMPLATES + "add.html", context)

    def save_model(self, request, obj, form, change):
        if not change:
            raise PermissionDenied  # clients are created by add_view, through the service
        if form.changed_data:
            service_client_update(
                client_id=obj.client_id,
                scopes=obj.scopes,
                audiences=obj.audiences,
                by=_by(request),
            )

    def rotate_view(self, request, object_id):
        client = self.get_object(request, str(object_id))
        if client is None:
            raise Http404
        if not self.has_change_permission(request, client):
            raise PermissionDenied
        if request.method == "POST":
            try:
                secret = service_client_rotate_secret(client_id=client.client_id, by=_by(request))
            except ServiceClientNotFound as exc:
                raise Http404 from exc
            self.log_change(request, client, "Rotated the secret.")
            client.refresh_from_db()
            return self._secret_page(request, client, secret, "Secret rotated")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Rotate the secret of {client.name}",
            "opts": self.opts,
            "original": client,
        }
        return TemplateResponse(request, TEMPLATES + "rotate.html", context)

    def _secret_page(self, request, client, secret: str, title: str):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "original": client,
            "secret": secret,
        }
        return response_no_store(TemplateResponse(request, TEMPLATES + "secret.html", context))

    @admin.action(description="Disable selected service clients", permissions=["change"])
    def disable_clients(self, request, queryset):
        done = self._set_active(request, queryset, service_client_disable, "Disabled.")
        self.message_user(
            request,
            f"Disabled {done} service client(s): their secrets and tokens are refused.",
            messages.SUCCESS,
        )

    @admin.action(description="Enable selected service clients", permissions=["change"])
    def enable_clients(self, request, queryset):
        done = self._set_active(request, queryset, service_client_enable, "Enabled.")
        self.message_user(request, f"Enabled {done} service client(s).", messages.SUCCESS)

    def _set_active(self, request, queryset, service, log_message: str) -> int:
        done = 0
        for client in queryset:
            if service(client_id=client.client_id, by=_by(request)):
                self.log_change(request, client, log_message)
                done += 1
        return done
