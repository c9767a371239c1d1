"""Two-factor authentication (TOTP with django-otp, backup codes, the login challenge)."""

from .env import env_int, env_str

# The issuer shown in authenticator apps next to the account's email.
AUTHSVC_MFA_ISSUER = env_str("AUTHSVC_MFA_ISSUER", "authsvc")
# How long a password login may wait for its second factor.
AUTHSVC_MFA_CHALLENGE_TTL_SECONDS = env_int("AUTHSVC_MFA_CHALLENGE_TTL_SECONDS", 300, minimum=30)
# Wrong codes one challenge may take before the password must be entered again.
AUTHSVC_MFA_CHALLENGE_MAX_FAILURES = env_int("AUTHSVC_MFA_CHALLENGE_MAX_FAILURES", 5, minimum=1)
# Per account: this many consecutive wrong codes are free, then each further attempt waits
# 2, 4, 8 ... seconds, up to the ceiling (see accounts/mfa/codes.py for the arithmetic).
AUTHSVC_MFA_FREE_FAILURES = env_int("AUTHSVC_MFA_FREE_FAILURES", 3, minimum=0)
AUTHSVC_MFA_MAX_DELAY_SECONDS = env_int("AUTHSVC_MFA_MAX_DELAY_SECONDS", 3600, minimum=1)
AUTHSVC_MFA_BACKUP_CODE_COUNT = 10

OTP_TOTP_ISSUER = AUTHSVC_MFA_ISSUER
# Codes are verified in accounts/mfa/codes.py on the injectable clock with a fixed ±1 step
# window; drift learning would let that window wander.
OTP_TOTP_SYNC = False
# The secret mixed into every backup code's hash (accounts/mfa/codes.py), kept out of the
# database so that a dump alone cannot be searched; empty: derived from SECRET_KEY.
# Changing it (or SECRET_KEY while it is empty) voids every backup code.
AUTHSVC_MFA_BACKUP_CODE_PEPPER = env_str("AUTHSVC_MFA_BACKUP_CODE_PEPPER", "")
