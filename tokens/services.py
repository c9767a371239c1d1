"""The token services other apps and the views call: a session's tokens begin in
`tokens.sessions`, rotate in `tokens.refresh`, and travel as `tokens.pair.IssuedTokens`."""

from tokens.pair import IssuedTokens
from tokens.refresh import refresh_token_hash, refresh_token_rotate, refresh_token_successor
from tokens.sessions import session_logout, session_start

__all__ = [
    "IssuedTokens",
    "refresh_token_hash",
    "refresh_token_rotate",
    "refresh_token_successor",
    "session_logout",
    "session_start",
]
