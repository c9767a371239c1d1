"""Security events: one structured log line each, never a password or a token.

Every register, login, refresh, reuse and logout goes through `record`, so the audit
table of a later change can be fed from this one place.
"""

import json
import logging

from authsvc import clock
from authsvc.http import ClientInfo

logger = logging.getLogger("authsvc.events")


def record(
    event: str,
    *,
    user_id: str | None = None,
    sid: str | None = None,
    client: ClientInfo | None = None,
    **details,
) -> None:
    line = {
        "event": event,
        "at": clock.now().isoformat(),
        "user_id": user_id,
        "sid": sid,
        "ip": client.ip if client else None,
        "user_agent": client.user_agent if client else None,
        **details,
    }
    logger.info(json.dumps(line, default=str, separators=(",", ":")))
