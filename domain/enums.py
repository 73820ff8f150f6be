"""The words Steady records: delivery states, where a reminder went, why it was not sent,
how a member takes delivery, why a subscription is paused.

Stored as text in the database (the values never change meaning); shared by storage, the
services and both front-ends.
"""

from enum import StrEnum


class DeliveryState(StrEnum):
    CLAIMED = "claimed"  # queued for the sender
    SENDING = "sending"  # a request may be in flight
    SENT = "sent"
    FAILED = "failed"
    MISSED = "missed"  # not sent: after downtime, or too busy (its Reason says which)
    CANCELLED = "cancelled"  # stopped or paused before sending
    UNCONFIRMED = "unconfirmed"  # in flight at a crash, too old to resend with its nonce


FINAL_STATES = frozenset(DeliveryState) - {DeliveryState.CLAIMED, DeliveryState.SENDING}


class Source(StrEnum):
    """What made the occurrence: its schedule, a Snooze click, or ``/remind test``."""

    SCHEDULE = "schedule"
    SNOOZE = "snooze"
    TEST = "test"


class Via(StrEnum):
    """Where a sent reminder went."""

    DM = "dm"
    SERVER = "server"  # the member chose the server's reminder channel
    FALLBACK = "fallback"  # the server's reminder channel, because the member's DMs are closed
    CHANNEL = "channel"  # a server-wide post (the daily tip)


class Outcome(StrEnum):
    DONE = "done"
    SNOOZED = "snoozed"


class Reason(StrEnum):
    """Why an occurrence ended without being sent (its ``error``), where that is fixed text."""

    OFFLINE_PAST_GRACE = "bot was offline past the grace period"
    TOO_LATE = "too late to send after the bot was offline"
    UNSUBSCRIBED = "unsubscribed or paused before sending"
    MEMBER_PAUSED = "member paused reminders"
    DMS_CLOSED = "dms_closed"
    NO_TARGET = "no target channel"
    DM_CHANNEL_UNKNOWN = "dm channel unknown"
    TEST_INTERRUPTED = "test interrupted by a restart"
    IN_FLIGHT_AT_CRASH = "in flight at a crash; not resent after the nonce window"
    # ``python -m bot restore``: fell due between the backup's moment and the restore, so it
    # may have gone out from the database that was replaced; never sent again.
    RESTORED = "restored from backup"
    # Due while the bot was up, but it could not reach Discord within the kind's late
    # tolerance (more due than the token's send rate): not sent late, recorded ``missed`` with
    # this reason, counted apart in stats — the bot's miss, never the member's (#21).
    TOO_BUSY = "skipped: too busy"


class DeliveryMode(StrEnum):
    """Where a member's reminders go (``/remind delivery``)."""

    DM = "dm"
    SERVER = "server"  # the reminder channel of their home server


class PauseReason(StrEnum):
    """Why a subscription is inactive (``paused_reason``)."""

    DMS_CLOSED = "dms_closed"  # nowhere to deliver; the member is told, /remind resume
    CHANNEL_BROKEN = "channel_broken"  # the daily tip's channel refused a post
    INVALID_SCHEDULE = "invalid schedule"  # its zone or times can no longer be computed
