"""The user list's filters."""

from django.contrib import admin


class BannedFilter(admin.SimpleListFilter):
    title = "banned"
    parameter_name = "banned"

    def lookups(self, request, model_admin):
        return (("yes", "Yes"), ("no", "No"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(banned_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(banned_at__isnull=True)
        return queryset


class TwoFactorFilter(admin.SimpleListFilter):
    title = "2FA"
    parameter_name = "two_factor"

    def lookups(self, request, model_admin):
        return (("yes", "On"), ("no", "Off"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(has_totp=True)
        if self.value() == "no":
            return queryset.filter(has_totp=False)
        return queryset
