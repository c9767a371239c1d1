from django.core.exceptions import ValidationError


class MaximumLengthValidator:
    """Refuse passwords longer than `max_length`; serializers enforce the same bound before
    the password is ever hashed."""

    def __init__(self, max_length: int = 1024):
        self.max_length = max_length

    def validate(self, password: str, user=None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"This password is too long; use at most {self.max_length} characters.",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"Your password can be at most {self.max_length} characters."
