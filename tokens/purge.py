from datetime import datetime

from authsvc.batching import delete_in_batches
from tokens.models import RefreshToken


def refresh_tokens_purge(*, now: datetime, batch_size: int) -> int:
    """Delete expired refresh tokens. An expired token is refused before anything else is
    looked at (reuse detection included), so its row serves no one."""
    expired = RefreshToken.objects.filter(expires_at__lte=now)
    return delete_in_batches(expired, batch_size=batch_size)
