"""Since when the engine has been up without a gap, and what that makes of a late reminder.

The dispatcher moves it (at start, and when the wall clock jumps: a suspend or an NTP step is
treated like downtime); the dispatcher and the sender both ask it whether an occurrence is
*missed*: scheduled before the engine came up and past its grace at that moment (30 min,
caffeine 60). The dispatcher records those ``missed`` instead of claiming them; the sender,
for those that became stale while queued, instead of sending them hours late. Built first
and handed to both, it is the one piece of state they share.
"""

from __future__ import annotations

from datetime import datetime

from domain.kinds import grace_for


class Uptime:
    def __init__(self) -> None:
        self.since: datetime | None = None
        self._since_ts = 0

    def restart(self, now: datetime) -> None:
        """The engine is (as good as) starting now."""
        self.since = now
        self._since_ts = int(now.timestamp())

    def missed(self, kind: str, scheduled_at: int) -> bool:
        """Scheduled before the engine came up, and past its grace by then."""
        return self._since_ts - scheduled_at > grace_for(kind).total_seconds()

    def caught_up(self, scheduled_at: int) -> bool:
        """Scheduled before the engine came up: a catch-up, which the downtime grace governs
        (not the kind's timing tolerance, which is about a bot that is up but busy)."""
        return scheduled_at < self._since_ts
