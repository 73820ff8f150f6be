"""Which reminders a member has on: ``/remind start|stop|list|test`` and the dashboard's
reminder forms."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from domain.clock import Clock, utc_now
from domain.enums import DeliveryMode, Source
from domain.errors import FieldError, UserFacingError, refusing
from domain.kinds import MEMBER_KINDS, spec_of
from domain.schedule import default_times, format_times
from domain.timeparse import parse_every, parse_time
from domain.zones import resolve_zone
from services.engine.sender import QUEUED, DeliveryResult
from services.fire_times import next_fire_at, reschedule_member, ts
from services.reminders import (
    Stopped,
    SubscriptionView,
    know_dm_channel,
    parse_kind,
    subscription_view,
    subscription_views,
)
from storage import ledger, members, reminders
from storage.database import Database
from storage.ledger import Claimant, Delivery, NewDelivery

SendNow = Callable[[Delivery], Awaitable[DeliveryResult]]


class Subscriptions:
    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = utc_now,
        on_change: Callable[[], None] = lambda: None,
        open_dm_soon: Callable[[int], None] = lambda user_id: None,
        send_now: SendNow | None = None,
        claimant: Claimant | None = None,
        test_timeout: float = 20.0,
    ) -> None:
        """``send_now`` is the engine's sender (``/remind test`` goes through it, and its
        fallbacks); ``claimant`` owns the test sends' ledger rows — the same process identity
        as the sender's."""
        self.db = db
        self.clock = clock
        self.on_change = on_change
        self.open_dm_soon = open_dm_soon
        self.send_now = send_now
        self.claimant = claimant or Claimant()
        self.test_timeout = test_timeout

    async def start(
        self,
        user_id: int,
        guild_id: int | None,
        kind: str,
        time_text: str | None = None,
        every: int | str | None = None,
        zone_text: str | None = None,
        dm_channel_id: int | None = None,
    ) -> SubscriptionView:
        """``/remind start kind [time] [every]`` (``guild_id`` None when used in DMs).

        ``dm_channel_id`` is the member's DM channel with the bot when the command came from
        it; from a server, their DM channel is opened in the background instead, so the
        reminder costs one request when it is due (:mod:`services.engine.dm_channels`).
        """
        kind = parse_kind(kind)
        with refusing("time"):
            custom = parse_time(time_text) if time_text not in (None, "") else None
        with refusing("every"):
            every_h = parse_every(every) if every not in (None, "") else None
        if every_h is not None and not spec_of(kind).repeats:
            raise FieldError(
                "every",
                "`every` is only for "
                + " and ".join(spec.name for spec in MEMBER_KINDS if spec.repeats)
                + " reminders.",
            )
        with refusing("zone"):
            zone = resolve_zone(zone_text) if zone_text not in (None, "") else None
        member = await members.get_or_default(self.db, user_id)
        if zone is None and member.timezone is None:
            raise UserFacingError(
                "Set your time zone first: `/remind timezone` (a city works, like `berlin`), "
                "or add the `zone` option to `/remind start`."
            )
        now = self.clock()
        if zone is not None and zone.key != member.timezone:
            await members.update(self.db, user_id, ts(now), timezone=zone.key)
            member = await members.get_or_default(self.db, user_id)
            await reschedule_member(self.db, member, now, zone.key)
        # The server a reminder falls back to is the latest one the member used, except that
        # "server" delivery stays with the server it was chosen in (/remind delivery server
        # there): starting another kind elsewhere must not move where reminders are posted.
        if guild_id is not None and not (
            member.delivery == DeliveryMode.SERVER and member.home_guild_id is not None
        ):
            await members.update(self.db, user_id, ts(now), home_guild_id=guild_id)
        zone_name = member.timezone
        assert zone_name is not None
        times = default_times(kind, member.wake, member.bed, every_h, custom)
        sub = await reminders.upsert_member_subscription(
            self.db,
            user_id=user_id,
            guild_id=guild_id,
            kind=kind,
            times=format_times(times),
            custom_time=custom.strftime("%H:%M") if custom else None,
            every_hours=every_h,
            zone=zone_name,
            next_fire_at=next_fire_at(times, zone_name, member, now),
            now=ts(now),
        )
        await know_dm_channel(self.db, member, dm_channel_id, ts(now), self.open_dm_soon)
        self.on_change()
        return subscription_view(sub)

    async def stop(self, user_id: int, kind_or_all: str) -> Stopped:
        """``/remind stop kind|all``."""
        kind = parse_kind(kind_or_all, allow_all=True)
        removed = await reminders.delete_member_subscriptions(
            self.db, user_id, None if kind == "all" else kind
        )
        if removed:
            self.on_change()
        return Stopped(kind, removed)

    async def list_subscriptions(self, user_id: int) -> list[SubscriptionView]:
        """The member's reminders in the order every list of kinds uses."""
        return await subscription_views(self.db, user_id)

    async def send_test(
        self, user_id: int, kind: str, guild_id: int | None = None
    ) -> DeliveryResult:
        """``/remind test kind``: one reminder now, through the real sender and its fallbacks."""
        kind = parse_kind(kind)
        if self.send_now is None:
            raise RuntimeError("send_test needs the engine's sender")
        now = ts(self.clock())
        member = await members.get_or_default(self.db, user_id)
        subscription = next(
            (s for s in await reminders.for_member(self.db, user_id) if s.kind == kind), None
        )
        if guild_id is not None and member.home_guild_id is None:
            await members.update(self.db, user_id, now, home_guild_id=guild_id)
        delivery = await ledger.claim_new(
            self.db,
            NewDelivery(
                nonce=ledger.nonce_for_test_send(user_id, now, kind),
                source=Source.TEST,
                subscription_id=subscription.id if subscription else None,
                scheduled_at=now,
                kind=kind,
                user_id=user_id,
                guild_id=guild_id or member.home_guild_id,
            ),
            now,
            self.claimant,
        )
        if delivery is None:
            raise UserFacingError("A test reminder is already on its way.")
        future = self.send_now(delivery)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.test_timeout)
        except TimeoutError:
            return DeliveryResult(delivery.id, QUEUED)
