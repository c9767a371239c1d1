"""Passkeys (WebAuthn): registration, discoverable-credential login, the second factor after
a password, and the list a user and an operator manage. py_webauthn checks the ceremonies."""
