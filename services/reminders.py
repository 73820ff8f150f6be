"""What the member-facing reminder services share: the views the front-ends render, the kind
parser, and the reading of a member's reminders in display order.

The services themselves each do one job — :mod:`services.member_settings` (a member's
settings, pause and delivery), :mod:`services.subscriptions` (which reminders are on, and the
test send), :mod:`services.buttons` (Done, Snooze, Stop), :mod:`services.stats` (the 30-day
counts) and :mod:`services.privacy` (export, delete). Each validates all of its input before
it writes anything, so a bad value changes nothing and raises
:class:`~domain.errors.UserFacingError` with what is accepted (a
:class:`~domain.errors.FieldError` naming the input when one value is refused). Every time
decision reads the injected ``clock``; when a change can move a fire time, ``on_change``
tells the dispatcher to re-plan. When reminders fire is :mod:`services.fire_times`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time

from domain.enums import DeliveryMode
from domain.errors import FieldError
from domain.kinds import MEMBER_KINDS, label_of
from domain.schedule import parse_times, stored_instant
from storage import members, reminders
from storage.database import Database
from storage.members import Member
from storage.reminders import Subscription

KIND_HINT = "Kinds: " + ", ".join(spec.name for spec in MEMBER_KINDS) + "."
NOT_PAUSED = "Your reminders were not paused, so nothing changed."


@dataclass(frozen=True)
class SubscriptionView:
    kind: str
    times: list[time]  # local wall-clock times in ``zone``
    zone: str
    next_fire: datetime | None  # aware, in ``zone``; None while paused (DMs closed…)
    custom_time: time | None
    every_hours: int | None
    active: bool
    paused_reason: str | None


@dataclass(frozen=True)
class MemberView:
    timezone: str | None
    wake: time
    bed: time
    delivery: str
    home_guild_id: int | None
    paused_until: datetime | None  # aware, in the member's zone (UTC if none set)
    # With delivery "server": that server's reminder channel now, or None when it has none
    # (its reminders then come by DM).
    guild_channel_id: int | None = None


@dataclass(frozen=True)
class Stopped:
    """What a stop did: ``/remind stop``, the Stop button and the dashboard say it alike."""

    asked: str  # the kind the member asked to stop, or "all"
    kinds: list[str]  # the kinds that were on and are stopped now; empty: nothing changed

    @property
    def answer(self) -> str:
        if self.kinds:
            return "Stopped: " + ", ".join(label_of(k) for k in self.kinds) + "."
        if self.asked == "all":
            return "You had no reminders to stop, so nothing changed."
        return f"You had no {label_of(self.asked)} reminder to stop, so nothing changed."


def parse_kind(text: str | None, *, allow_all: bool = False) -> str:
    value = (text or "").strip().lower()
    if allow_all and value == "all":
        return "all"
    if value in {spec.name for spec in MEMBER_KINDS}:
        return value
    raise FieldError("kind", KIND_HINT + (" Or `all`." if allow_all else ""))


def subscription_view(sub: Subscription) -> SubscriptionView:
    return SubscriptionView(
        kind=sub.kind,
        times=list(parse_times(sub.times)),
        zone=sub.zone,
        next_fire=stored_instant(sub.next_fire_at, sub.zone),
        custom_time=time.fromisoformat(sub.custom_time) if sub.custom_time else None,
        every_hours=sub.every_hours,
        active=sub.active,
        paused_reason=sub.paused_reason,
    )


def in_display_order(subs: list[Subscription]) -> list[Subscription]:
    """The order every list of kinds uses (the choices, ``/remind stats``): hydration,
    stretching, sleep, caffeine."""
    order = {spec.name: i for i, spec in enumerate(MEMBER_KINDS)}
    return sorted(subs, key=lambda s: order.get(s.kind, 99))


async def subscription_views(db: Database, user_id: int) -> list[SubscriptionView]:
    """The member's reminders, in display order."""
    return [
        subscription_view(sub) for sub in in_display_order(await reminders.for_member(db, user_id))
    ]


async def know_dm_channel(
    db: Database,
    member: Member,
    dm_channel_id: int | None,
    now: int,
    open_dm_soon: Callable[[int], None],
) -> None:
    """Make sure the member's DM channel is known before a reminder is due: the one the
    command came from, else opened in the background (:mod:`services.engine.dm_channels`)."""
    if dm_channel_id is not None:
        if member.dm_channel_id != dm_channel_id:
            await members.set_dm_channel(db, member.user_id, dm_channel_id, now)
    elif member.dm_channel_id is None and member.delivery == DeliveryMode.DM:
        open_dm_soon(member.user_id)
