"""How the sender talks to Discord: a two-call protocol and the errors it may raise.

The sender depends on this, not on discord.py, so tests drive it with a fake that behaves
like Discord (nonce de-duplication, 429s, closed DMs) and the real adapter
(``discord_transport``) maps discord.py's exceptions onto these types.
"""

from __future__ import annotations

from typing import Any, Protocol

# Discord JSON error codes this engine acts on.
CODE_UNKNOWN_CHANNEL = 10003
CODE_UNKNOWN_USER = 10013
CODE_MISSING_ACCESS = 50001
CODE_CANNOT_DM = 50007
CODE_MISSING_PERMISSIONS = 50013


class OpensDms(Protocol):
    """The half the DM-channel opener needs; a process that sends nothing (the web process)
    has only this (:class:`~services.engine.rest_dms.RestDms`)."""

    async def open_dm(self, user_id: int) -> int:
        """The id of the DM channel with ``user_id`` (created if needed)."""
        ...


class DiscordTransport(OpensDms, Protocol):
    async def send_message(self, channel_id: int, payload: dict[str, Any], nonce: str) -> int:
        """POST the message with ``nonce`` and ``enforce_nonce``; returns the message id.

        With ``enforce_nonce`` Discord returns the earlier message instead of creating a
        second one when the same nonce was used recently, which is what makes a resend
        after a crash safe.
        """
        ...


class TransportError(Exception):
    """Base of every error a transport raises."""


class DMsClosed(TransportError):
    """50007: the member does not accept DMs from the bot (or the account is gone)."""


class ChannelBroken(TransportError):
    """The bot cannot post in a guild channel: deleted, no access, or missing permissions."""

    reason = "channel unusable"


class UnknownChannel(ChannelBroken):
    reason = "channel deleted"


class MissingAccess(ChannelBroken):
    reason = "missing access to the channel"


class MissingPermissions(ChannelBroken):
    reason = "missing permission to send messages or embed links"


class RateLimited(TransportError):
    """429: wait ``retry_after`` seconds and try again (never drop)."""

    def __init__(self, retry_after: float, is_global: bool = False) -> None:
        super().__init__(f"rate limited for {retry_after:.2f}s")
        self.retry_after = max(0.0, float(retry_after))
        self.is_global = is_global


class DiscordUnavailable(TransportError):
    """5xx, timeout or network error: transient, retried with backoff."""


class RequestRejected(TransportError):
    """Any other 4xx: the request itself is wrong; retrying would not help."""

    def __init__(self, status: int, code: int, text: str = "") -> None:
        super().__init__(f"HTTP {status} (code {code}) {text}".strip())
        self.status = status
        self.code = code
