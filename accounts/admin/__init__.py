"""The admin for operators, found by Django's autodiscovery of `accounts.admin`.

- `users`: the user page (roles, sessions, 2FA devices, linked accounts, recent events)
  and its list, with `filters` and the bulk `actions` (ban, unban, end sessions, reset 2FA)
- `passkeys`: the user page's passkeys (read-only, deletable through the service)
- `forms`: the ban form and the password forms (`password_set_by_operator`)
- `otp`: django-otp's device admins, which show TOTP secrets, unregistered

Every write goes through the same services as the API and the commands; the admin only
collects the input. The audit log's admin is the audit app's (audit/admin.py).
"""

from accounts.admin import otp, users  # noqa: F401 - registering is importing
