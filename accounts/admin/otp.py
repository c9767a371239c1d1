"""django-otp's own device admins, removed.

Its pages show the TOTP secret (and a QR code of it) to every staff user; operators see
devices on the user page (`accounts.admin.users`) and can only reset them. Imported first,
so they are registered (and removed here) whatever the order of INSTALLED_APPS.
"""

import django_otp.plugins.otp_static.admin
import django_otp.plugins.otp_totp.admin  # noqa: F401
from django.contrib import admin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
