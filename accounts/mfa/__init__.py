"""Two-factor authentication: TOTP devices and backup codes (django-otp's models), the
login challenge, and the flows the API views and the admin call."""
