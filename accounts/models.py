import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.emails import EMAIL_MAX_LENGTH, local_part_is_ascii, normalize_email


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields):
        user = self.model(email=normalize_email(email), **fields)
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields):
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields):
        from accounts.roles import ADMIN_ROLE, DEFAULT_ROLE, user_roles_set

        fields.update(is_staff=True, is_superuser=True)
        user = self._create(email, password, **fields)
        # The first admin (createsuperuser) can use the admin API, not only the admin site.
        user_roles_set(user=user, roles=[DEFAULT_ROLE, ADMIN_ROLE])
        return user

    def get_by_natural_key(self, username):
        # The admin login and ModelBackend look users up here: same normal form as the API.
        return self.get(email=normalize_email(username))


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=EMAIL_MAX_LENGTH, unique=True)
    name = models.CharField(max_length=150, blank=True)
    email_verified = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # A ban keeps `is_active` off (so Django's own checks, the admin login included, refuse
    # the account) and says who, why and until when; `banned_until` None is permanent.
    banned_at = models.DateTimeField(null=True, blank=True)
    banned_until = models.DateTimeField(null=True, blank=True)
    ban_reason = models.CharField(max_length=500, blank=True)
    banned_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            # Emails are stored normalised; this keeps the database itself from ever holding
            # two accounts that differ only in case, whatever wrote the row.
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)
        if not local_part_is_ascii(self.email):
            # The admin's forms land here: no lookalike account through them either.
            raise ValidationError(
                {"email": "Use only ASCII letters, digits and symbols before the @."}
            )

    @property
    def is_banned(self) -> bool:
        return self.banned_at is not None


class BackupCode(models.Model):
    """One unused 2FA backup code of a django-otp static device, stored as a salted, slow,
    peppered hash (accounts.mfa.codes). django-otp's own StaticToken keeps codes in clear
    in a 16-character column, too short for that."""

    device = models.ForeignKey(
        "otp_static.StaticDevice", on_delete=models.CASCADE, related_name="backup_codes"
    )
    # "<scheme>$<iterations>$<salt>$<hex digest>", see accounts.mfa.codes.backup_code_digest.
    digest = models.CharField(max_length=128)

    def __str__(self) -> str:
        return "backup code"


class LoginLockout(models.Model):
    """Wrong passwords in a row for one address (accounts/lockout.py). In PostgreSQL, not
    Redis, so a Redis restart or outage cannot reset it and parallel guesses are counted
    under a row lock."""

    # SHA-256 of the normal form of the address: never the address in clear.
    email_digest = models.CharField(max_length=64, primary_key=True)
    failures = models.PositiveIntegerField(default=0)
    # The last attempt that was let through to the password check, Unix milliseconds on
    # authsvc.clock (an integer keeps the compare-and-set the same on PostgreSQL and SQLite).
    last_attempt_ms = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["last_attempt_ms"], name="loginlockout_last_idx")]

    def __str__(self) -> str:
        return f"lockout {self.email_digest[:8]}… ({self.failures})"


class MfaChallenge(models.Model):
    """The server half of a 2FA login challenge (accounts/mfa/challenge.py): it makes each
    challenge complete at most once. In PostgreSQL so a 2FA login works while Redis is down."""

    # SHA-256 of the random challenge id the signed cookie carries.
    id_digest = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="mfachallenge_expires_idx")]

    def __str__(self) -> str:
        return f"2FA challenge of {self.user_id}"


class LoginCode(models.Model):
    """The live sign-in code emailed to an account's address (accounts/login_codes.py): at
    most one per user, replaced (a new row, a new id) by each new code, deleted when used.
    In PostgreSQL, so the attempts are counted under the row's lock and survive Redis."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="+")
    # HMAC-SHA256 of the code under a key derived from SECRET_KEY, never the code: a
    # 6-digit code has a million values, so a plain hash in a leaked table reverses at once.
    code_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    # Confirmations tried against this code, right or wrong; at the limit it is dead.
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="logincode_expires_idx")]

    def __str__(self) -> str:
        return f"sign-in code of {self.user_id}"


# The passkey models live with their flows; imported here so Django finds them.
from accounts.passkeys.models import Passkey, PasskeyChallenge  # noqa: E402, F401
