"""Google login (social-auth-app-django) with our own pipeline: no account takeover by
email, 2FA honoured, the same session and cookies as a password login."""
