"""Rate limits the way Discord applies them, so the bot's pacing is tested for real.

* A global limit per bot token (50 requests/s by default). Interaction callbacks and
  interaction webhooks are exempt, as Discord documents.
* Per-route buckets keyed by route *and* major parameter (channel, guild, webhook): for
  example 5 messages per 5 s per channel.
* ``X-RateLimit-*`` headers on every answer; 429s carry ``retry_after``, ``global``, the
  ``Retry-After`` header and ``Via`` (discord.py treats a 429 without ``Via`` as a Cloudflare
  ban and does not retry it).

Windows are fixed (they open on the first request), which is how Discord's buckets behave
from a client's point of view.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class BucketRule:
    bucket_hash: str
    limit: int
    window: float


@dataclass
class _Window:
    reset_at: float
    remaining: int


@dataclass
class Limited:
    """A request refused with 429."""

    retry_after: float
    is_global: bool
    scope: str
    headers: dict[str, str]

    def body(self) -> dict[str, Any]:
        return {
            "message": "You are being rate limited.",
            "retry_after": round(self.retry_after, 3),
            "global": self.is_global,
        }


# (method, route template) -> rule. Templates are the REST app's canonical paths, relative
# to the API base.
DEFAULT_RULES: dict[tuple[str, str], BucketRule] = {
    ("POST", "/channels/{channel_id}/messages"): BucketRule("msg-create", 5, 5.0),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"): BucketRule("msg-edit", 5, 5.0),
    ("POST", "/users/@me/channels"): BucketRule("dm-create", 10, 1.0),
    ("PUT", "/applications/{application_id}/commands"): BucketRule("cmd-sync", 10, 10.0),
    ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands"): BucketRule(
        "guild-cmd-sync", 10, 10.0
    ),
}
DEFAULT_ROUTE_RULE = BucketRule("default", 50, 1.0)
# Webhook-token routes (followups, edits): Discord allows bursts of 5 per 2 s per token...
# but an interaction's own replies are far below that; keep it generous like Discord's.
WEBHOOK_RULE = BucketRule("webhook", 30, 2.0)


@dataclass
class RateLimiter:
    global_limit: int = 50
    global_window: float = 1.0
    rules: dict[tuple[str, str], BucketRule] = field(default_factory=lambda: dict(DEFAULT_RULES))
    enabled: bool = True
    _global: dict[str, _Window] = field(default_factory=dict)
    _buckets: dict[str, _Window] = field(default_factory=dict)

    def rule_for(self, method: str, template: str) -> BucketRule:
        if template.startswith(("/webhooks/", "/interactions/")):
            return WEBHOOK_RULE
        return self.rules.get((method, template), DEFAULT_ROUTE_RULE)

    def check(
        self, *, token: str | None, method: str, template: str, major: str
    ) -> tuple[dict[str, str], Limited | None]:
        """Count one request; return the headers to send and, if refused, why."""
        now = time.monotonic()
        exempt = template.startswith(("/interactions/", "/webhooks/"))
        if self.enabled and token is not None and not exempt:
            window = self._window(self._global, token, now, self.global_limit, self.global_window)
            if window.remaining <= 0:
                retry = max(window.reset_at - now, 0.001)
                headers = {
                    "X-RateLimit-Global": "true",
                    "X-RateLimit-Scope": "global",
                    "Retry-After": str(math.ceil(retry)),
                    "Via": "1.1 google",
                }
                return headers, Limited(retry, True, "global", headers)
            window.remaining -= 1

        rule = self.rule_for(method, template)
        key = f"{rule.bucket_hash}:{major}"
        window = self._window(self._buckets, key, now, rule.limit, rule.window)
        reset_after = max(window.reset_at - now, 0.0)
        headers = {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Bucket": rule.bucket_hash,
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        }
        if self.enabled and window.remaining <= 0:
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Scope"] = "user"
            headers["Retry-After"] = str(math.ceil(reset_after))
            headers["Via"] = "1.1 google"
            return headers, Limited(max(reset_after, 0.001), False, "user", headers)
        window.remaining -= 1
        headers["X-RateLimit-Remaining"] = str(max(window.remaining, 0))
        return headers, None

    @staticmethod
    def _window(
        table: dict[str, _Window], key: str, now: float, limit: int, length: float
    ) -> _Window:
        window = table.get(key)
        if window is None or now >= window.reset_at:
            window = table[key] = _Window(reset_at=now + length, remaining=limit)
        return window
