"""Django's admin app with our site (`authsvc.admin_site.AdminSite`) as the default one.

Apart from the site module because INSTALLED_APPS imports this before the models exist,
and the site needs the accounts services."""

from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    default_site = "authsvc.admin_site.AdminSite"
