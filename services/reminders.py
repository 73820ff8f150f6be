"""What ``/remind``, the reminder buttons and ``/privacy`` do — the API the cog calls.

Every method validates all of its input before it writes anything, so a bad value changes
nothing and raises :class:`UserFacingError` with what is accepted. Every time decision
reads the injected ``clock``. After a change that can move a fire time, ``on_change`` (the
dispatcher's ``poke``) re-plans the next wake-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.enums import DeliveryMode, DeliveryState, Outcome, PauseReason, Source
from domain.errors import UserFacingError
from domain.kinds import MEMBER_KINDS, ReminderKind, label_of, spec_of
from domain.schedule import (
    default_times,
    format_times,
    next_fire,
    parse_times,
    stored_instant,
    wall_time_to_utc,
    zone_named,
    zone_or_utc,
)
from domain.timeparse import parse_days, parse_every, parse_snooze_minutes, parse_time
from domain.zones import resolve_zone
from services.engine.sender import QUEUED, DeliveryResult, utc_now
from storage import ledger, members, reminders
from storage.database import Database
from storage.ledger import Claimant, Delivery, NewDelivery
from storage.members import Member
from storage.reminders import Reschedule, Subscription

Clock = Callable[[], datetime]
KIND_HINT = "Kinds: " + ", ".join(spec.name for spec in MEMBER_KINDS) + "."
STATS_DAYS = 30
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
    server_channel_id: int | None = None


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


@dataclass(frozen=True)
class KindStats:
    kind: str
    sent: int
    done: int
    snoozed: int
    streak: int  # consecutive local days, up to today, with a Done


@dataclass(frozen=True)
class DayCounts:
    day: date  # the member's local date
    sent: int
    done: int
    snoozed: int


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _parse_named_time(what: str, text: str) -> time:
    """``parse_time``, saying which of two times was not understood."""
    try:
        return parse_time(text)
    except UserFacingError as error:
        message = str(error)
        raise UserFacingError(f"Your {what}: {message[:1].lower()}{message[1:]}") from None


def _parse_schedule(wake_text: str, bed_text: str) -> tuple[time, time]:
    wake = _parse_named_time("wake-up time", wake_text)
    bed = _parse_named_time("bedtime", bed_text)
    if wake == bed:
        raise UserFacingError("Wake-up time and bedtime must be different.")
    return wake, bed


def parse_kind(text: str | None, *, allow_all: bool = False) -> str:
    value = (text or "").strip().lower()
    if allow_all and value == "all":
        return "all"
    if value in {spec.name for spec in MEMBER_KINDS}:
        return value
    raise UserFacingError(KIND_HINT + (" Or `all`." if allow_all else ""))


class ReminderService:
    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = utc_now,
        on_change: Callable[[], None] = lambda: None,
        send_now: Callable[[Delivery], Awaitable[DeliveryResult]] | None = None,
        reminder_channel_for: Callable[[int], Awaitable[int | None]] | None = None,
        open_dm_soon: Callable[[int], None] = lambda user_id: None,
        test_timeout: float = 20.0,
        claimant: Claimant | None = None,
    ) -> None:
        self.db = db
        # Owner of the test sends' ledger rows: the same process identity as the sender's.
        self.claimant = claimant or Claimant()
        self.clock = clock
        self.on_change = on_change
        self.send_now = send_now
        self.reminder_channel_for = reminder_channel_for
        self.open_dm_soon = open_dm_soon
        self.test_timeout = test_timeout

    # --- helpers -------------------------------------------------------------------------

    def _view(self, sub: Subscription) -> SubscriptionView:
        nxt = stored_instant(sub.next_fire_at, sub.zone)
        return SubscriptionView(
            kind=sub.kind,
            times=list(parse_times(sub.times)),
            zone=sub.zone,
            next_fire=nxt,
            custom_time=time.fromisoformat(sub.custom_time) if sub.custom_time else None,
            every_hours=sub.every_hours,
            active=sub.active,
            paused_reason=sub.paused_reason,
        )

    @staticmethod
    def _fire_after(member: Member, now: datetime) -> datetime:
        """Fire times are computed after now, or after the end of a pause."""
        if member.paused_until is not None and member.paused_until > _ts(now):
            return datetime.fromtimestamp(member.paused_until, UTC)
        return now

    def _times_for(self, sub: Subscription, member: Member) -> list[time]:
        if sub.kind == ReminderKind.DAILY_TIP:
            return list(parse_times(sub.times))
        custom = time.fromisoformat(sub.custom_time) if sub.custom_time else None
        return default_times(sub.kind, member.wake, member.bed, sub.every_hours, custom)

    async def _recompute(self, member: Member, zone_name: str | None = None) -> None:
        """Re-derive times and next fire of all the member's subscriptions."""
        now = self.clock()
        after = self._fire_after(member, now)
        changes = []
        for sub in await reminders.for_member(self.db, member.user_id):
            zone = zone_name or sub.zone
            times = self._times_for(sub, member)
            nxt = _ts(next_fire(times, zone_named(zone), after)) if sub.active else None
            changes.append(Reschedule(sub.id, format_times(times), zone, nxt))
        await reminders.reschedule(self.db, changes, _ts(now))

    async def _know_dm_channel(
        self, member: Member, dm_channel_id: int | None, now: datetime
    ) -> None:
        """Make sure the member's DM channel is known before a reminder is due."""
        if dm_channel_id is not None:
            if member.dm_channel_id != dm_channel_id:
                await members.set_dm_channel(self.db, member.user_id, dm_channel_id, _ts(now))
        elif member.dm_channel_id is None and member.delivery == DeliveryMode.DM:
            self.open_dm_soon(member.user_id)

    async def _owned_delivery(self, delivery_id: int, user_id: int) -> Delivery:
        delivery = await ledger.get(self.db, delivery_id)
        if delivery is None:
            raise UserFacingError("This reminder is no longer on record.")
        if delivery.user_id != user_id:
            raise UserFacingError("This reminder belongs to someone else.")
        return delivery

    # --- settings ------------------------------------------------------------------------

    async def settings(self, user_id: int) -> MemberView:
        member = await members.get_or_default(self.db, user_id)
        zone = zone_or_utc(member.timezone)
        paused = (
            datetime.fromtimestamp(member.paused_until, UTC).astimezone(zone)
            if member.paused_until is not None and member.paused_until > _ts(self.clock())
            else None
        )
        channel = None
        if (
            member.delivery == DeliveryMode.SERVER
            and member.home_guild_id is not None
            and self.reminder_channel_for is not None
        ):
            channel = await self.reminder_channel_for(member.home_guild_id)
        return MemberView(
            member.timezone,
            member.wake,
            member.bed,
            member.delivery,
            member.home_guild_id,
            paused,
            channel,
        )

    async def set_timezone(self, user_id: int, zone_text: str) -> ZoneInfo:
        """``/remind timezone``: every subscription now fires at its local times in this zone."""
        zone = resolve_zone(zone_text)
        now = _ts(self.clock())
        await members.update(self.db, user_id, now, timezone=zone.key)
        member = await members.get_or_default(self.db, user_id)
        await self._recompute(member, zone.key)
        self.on_change()
        return zone

    async def set_schedule(
        self, user_id: int, wake_text: str, bed_text: str
    ) -> list[SubscriptionView]:
        """``/remind schedule``: derived times follow the new wake/bed; custom times stay."""
        wake, bed = _parse_schedule(wake_text, bed_text)
        await members.update(self.db, user_id, _ts(self.clock()), wake=wake, bed=bed)
        member = await members.get_or_default(self.db, user_id)
        await self._recompute(member)
        self.on_change()
        return await self.list_subscriptions(user_id)

    async def preview_schedule(
        self, user_id: int, wake_text: str, bed_text: str
    ) -> list[SubscriptionView]:
        """What :meth:`set_schedule` would make of the reminders, without changing anything."""
        wake, bed = _parse_schedule(wake_text, bed_text)
        member = replace(await members.get_or_default(self.db, user_id), wake=wake, bed=bed)
        after = self._fire_after(member, self.clock())
        views = []
        for sub in await reminders.for_member(self.db, user_id):
            times = self._times_for(sub, member)
            nxt = _ts(next_fire(times, zone_named(sub.zone), after)) if sub.active else None
            views.append(self._view(replace(sub, times=format_times(times), next_fire_at=nxt)))
        return views

    # --- subscriptions -------------------------------------------------------------------

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
        custom = parse_time(time_text) if time_text not in (None, "") else None
        every_h = parse_every(every) if every not in (None, "") else None
        if every_h is not None and not spec_of(kind).repeats:
            raise UserFacingError(
                "`every` is only for "
                + " and ".join(spec.name for spec in MEMBER_KINDS if spec.repeats)
                + " reminders."
            )
        zone = resolve_zone(zone_text) if zone_text not in (None, "") else None
        member = await members.get_or_default(self.db, user_id)
        if zone is None and member.timezone is None:
            raise UserFacingError(
                "Set your time zone first: `/remind timezone` (a city works, like `berlin`), "
                "or add the `zone` option to `/remind start`."
            )
        now = self.clock()
        if zone is not None and zone.key != member.timezone:
            await members.update(self.db, user_id, _ts(now), timezone=zone.key)
            member = await members.get_or_default(self.db, user_id)
            await self._recompute(member, zone.key)
        # The server a reminder falls back to is the latest one the member used, except that
        # "server" delivery stays with the server it was chosen in (/remind delivery server
        # there): starting another kind elsewhere must not move where reminders are posted.
        if guild_id is not None and not (
            member.delivery == DeliveryMode.SERVER and member.home_guild_id is not None
        ):
            await members.update(self.db, user_id, _ts(now), home_guild_id=guild_id)
        zone_name = member.timezone
        assert zone_name is not None
        times = default_times(kind, member.wake, member.bed, every_h, custom)
        nxt = next_fire(times, zone_named(zone_name), self._fire_after(member, now))
        sub = await reminders.upsert_member_subscription(
            self.db,
            user_id=user_id,
            guild_id=guild_id,
            kind=kind,
            times=format_times(times),
            custom_time=custom.strftime("%H:%M") if custom else None,
            every_hours=every_h,
            zone=zone_name,
            next_fire_at=_ts(nxt),
            now=_ts(now),
        )
        await self._know_dm_channel(member, dm_channel_id, now)
        self.on_change()
        return self._view(sub)

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
        """The member's reminders in the order every list of kinds uses (the choices,
        ``/remind stats``): hydration, stretching, sleep, caffeine."""
        order = {spec.name: i for i, spec in enumerate(MEMBER_KINDS)}
        subs = sorted(
            await reminders.for_member(self.db, user_id), key=lambda s: order.get(s.kind, 99)
        )
        return [self._view(sub) for sub in subs]

    async def pause(self, user_id: int, days: int | str) -> datetime:
        """``/remind pause days``: nothing until the same local time ``days`` later."""
        days = parse_days(days)
        now = self.clock()
        member = await members.get_or_default(self.db, user_id)
        zone = zone_or_utc(member.timezone)
        local = now.astimezone(zone).replace(tzinfo=None) + timedelta(days=days)
        until = wall_time_to_utc(local, zone)
        await members.update(self.db, user_id, _ts(now), paused_until=_ts(until))
        moves = []
        for sub in await reminders.for_member(self.db, user_id):
            if sub.active:
                times = parse_times(sub.times)
                moves.append((sub.id, _ts(next_fire(times, zone_named(sub.zone), until))))
        await reminders.set_next_fire(self.db, moves, _ts(now))
        self.on_change()
        return until.astimezone(zone)

    async def resume(self, user_id: int) -> list[SubscriptionView] | None:
        """``/remind resume``: end a pause, and re-enable reminders paused by closed DMs.

        ``None`` when nothing was paused: then nothing changes.
        """
        now = self.clock()
        member = await members.get_or_default(self.db, user_id)
        subscriptions = await reminders.for_member(self.db, user_id)
        pause_ended = member.paused_until is None or member.paused_until <= _ts(now)
        if pause_ended and all(sub.active for sub in subscriptions):
            return None
        await members.update(self.db, user_id, _ts(now), paused_until=None)
        moves: list[tuple[int, int]] = []
        reactivate: list[tuple[int, int]] = []
        for sub in subscriptions:
            nxt = _ts(next_fire(parse_times(sub.times), zone_named(sub.zone), now))
            (moves if sub.active else reactivate).append((sub.id, nxt))
        await reminders.set_next_fire(self.db, moves, _ts(now))
        await reminders.reactivate(self.db, reactivate, _ts(now))
        self.on_change()
        return await self.list_subscriptions(user_id)

    async def set_delivery(self, user_id: int, where: str, guild_id: int | None) -> str:
        """``/remind delivery dm|server``; server = the reminder channel of ``guild_id``."""
        choice = (where or "").strip().lower()
        if choice not in set(DeliveryMode):
            raise UserFacingError("Delivery is `dm` or `server`.")
        member = await members.get_or_default(self.db, user_id)
        home = guild_id or member.home_guild_id
        if choice == DeliveryMode.SERVER:
            if home is None:
                raise UserFacingError(
                    "Use `/remind delivery server` inside the server whose reminder channel "
                    "should get your reminders."
                )
            if (
                self.reminder_channel_for is not None
                and await self.reminder_channel_for(home) is None
            ):
                # From a DM, "this server" would be the DM: say which server is meant.
                where = (
                    "This server has" if guild_id is not None else "The server you set up in has"
                )
                raise UserFacingError(
                    f"{where} no reminder channel yet: an admin can set one with "
                    "`/config reminder-channel`."
                )
        now = self.clock()
        fields: dict[str, object] = {"delivery": choice}
        if guild_id is not None:
            fields["home_guild_id"] = guild_id
        await members.update(self.db, user_id, _ts(now), **fields)
        # A member who changes where reminders go has acted on a "DMs closed" pause.
        member = await members.get_or_default(self.db, user_id)
        await self._know_dm_channel(member, None, now)
        after = self._fire_after(member, now)
        reactivate = [
            (sub.id, _ts(next_fire(parse_times(sub.times), zone_named(sub.zone), after)))
            for sub in await reminders.for_member(self.db, user_id)
            if not sub.active and sub.paused_reason == PauseReason.DMS_CLOSED
        ]
        await reminders.reactivate(self.db, reactivate, _ts(now))
        self.on_change()
        return choice

    async def send_test(
        self, user_id: int, kind: str, guild_id: int | None = None
    ) -> DeliveryResult:
        """``/remind test kind``: one reminder now, through the real sender and its fallbacks."""
        kind = parse_kind(kind)
        if self.send_now is None:
            raise RuntimeError("send_test needs the engine's sender")
        now = _ts(self.clock())
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

    # --- buttons -------------------------------------------------------------------------

    async def mark_done(self, delivery_id: int, user_id: int) -> Delivery | None:
        """Done: counts toward stats (test sends excepted). None if it was already done."""
        delivery = await self._owned_delivery(delivery_id, user_id)
        if await ledger.set_outcome(self.db, delivery_id, Outcome.DONE, _ts(self.clock())):
            return delivery
        return None

    async def snooze(self, delivery_id: int, user_id: int, minutes: int = 30) -> datetime:
        """Snooze: one extra reminder ``minutes`` later, stored so it survives a restart.

        Idempotent per reminder: a second click returns the first snooze's time.
        """
        minutes = parse_snooze_minutes(minutes)
        delivery = await self._owned_delivery(delivery_id, user_id)
        if (
            delivery.subscription_id is not None
            and await reminders.get(self.db, delivery.subscription_id) is None
        ):
            # Stop was pressed (or /remind stop used) since: a snooze would bring it back once.
            raise UserFacingError(
                "You stopped these reminders, so there is nothing to snooze. "
                "Start them again with `/remind start`."
            )
        now = self.clock()
        snooze = await reminders.add_snooze(
            self.db,
            from_delivery=delivery,
            fire_at=_ts(now + timedelta(minutes=minutes)),
            now=_ts(now),
        )
        await ledger.set_outcome(self.db, delivery_id, Outcome.SNOOZED, _ts(now))
        self.on_change()
        member = await members.get_or_default(self.db, user_id)
        zone = zone_or_utc(member.timezone)
        return datetime.fromtimestamp(snooze.fire_at, UTC).astimezone(zone)

    async def stop_from_button(self, delivery_id: int, user_id: int) -> Stopped:
        """Stop: unsubscribe from the kind of this reminder."""
        delivery = await self._owned_delivery(delivery_id, user_id)
        removed = await reminders.delete_member_subscriptions(self.db, user_id, delivery.kind)
        if removed:
            self.on_change()
        return Stopped(delivery.kind, removed)

    # --- stats and privacy ---------------------------------------------------------------

    async def stats(self, user_id: int, days: int = STATS_DAYS) -> list[KindStats]:
        """Done / snoozed / sent counts and the Done streak per kind over the last ``days``."""
        now = self.clock()
        member = await members.get_or_default(self.db, user_id)
        zone = zone_or_utc(member.timezone)
        rows = [
            d
            for d in await ledger.for_user_since(self.db, user_id, _ts(now - timedelta(days=days)))
            if d.source != Source.TEST
        ]
        today = now.astimezone(zone).date()
        out = []
        for spec in MEMBER_KINDS:
            mine = [d for d in rows if d.kind == spec.name]
            done_days = {
                datetime.fromtimestamp(d.outcome_at or d.scheduled_at, UTC).astimezone(zone).date()
                for d in mine
                if d.outcome == Outcome.DONE
            }
            day = today if today in done_days else today - timedelta(days=1)
            streak = 0
            while day in done_days and streak < days:
                streak += 1
                day -= timedelta(days=1)
            out.append(
                KindStats(
                    kind=spec.name,
                    sent=sum(1 for d in mine if d.state == DeliveryState.SENT),
                    done=sum(1 for d in mine if d.outcome == Outcome.DONE),
                    snoozed=sum(1 for d in mine if d.outcome == Outcome.SNOOZED),
                    streak=streak,
                )
            )
        return out

    async def daily_history(self, user_id: int, days: int = STATS_DAYS) -> list[DayCounts]:
        """The same deliveries as :meth:`stats`, counted per local day (oldest first)."""
        now = self.clock()
        zone = zone_or_utc((await members.get_or_default(self.db, user_id)).timezone)
        today = now.astimezone(zone).date()
        first = today - timedelta(days=days - 1)
        counts = {first + timedelta(days=i): [0, 0, 0] for i in range(days)}
        since = _ts(now - timedelta(days=days))
        for d in await ledger.for_user_since(self.db, user_id, since):
            day = datetime.fromtimestamp(d.scheduled_at, UTC).astimezone(zone).date()
            if d.source == "test" or day not in counts:
                continue
            row = counts[day]
            row[0] += d.state == "sent"
            row[1] += d.outcome == "done"
            row[2] += d.outcome == "snoozed"
        return [DayCounts(day, *row) for day, row in counts.items()]

    async def export(self, user_id: int) -> dict[str, object]:
        """``/privacy export``: everything stored about the member, JSON-ready."""
        member = await members.get(self.db, user_id)
        subs = await reminders.for_member(self.db, user_id)
        snoozes = await reminders.snoozes_for_member(self.db, user_id)
        deliveries = await ledger.for_user_since(self.db, user_id, 0)
        return {
            "user_id": str(user_id),
            "exported_at": self.clock().isoformat(),
            "settings": members.as_export(member) if member else None,
            "subscriptions": [reminders.as_export(s) for s in subs],
            "snoozes": [{"kind": s.kind, "fire_at": s.fire_at} for s in snoozes],
            "deliveries": [ledger.as_export(d) for d in deliveries],
        }

    async def delete_all(self, user_id: int) -> None:
        """``/privacy delete``: settings, caches, subscriptions, snoozes and ledger, at once."""
        await reminders.delete_member_data(self.db, user_id)
        self.on_change()

    async def learn_dm_channel(self, user_id: int, channel_id: int) -> None:
        """The member used a command or a button in their DM with the bot: that channel is
        where their DM reminders go (no request needed to open it). Only for members the bot
        keeps data about already: nothing is stored for someone who only asked for facts."""
        member = await members.get(self.db, user_id)
        if member is not None and member.dm_channel_id != channel_id:
            await members.set_dm_channel(self.db, user_id, channel_id, _ts(self.clock()))

    async def pop_notice(self, user_id: int) -> str | None:
        """A one-time notice for the member's next command (e.g. "your DMs are closed")."""
        return await members.pop_notice(self.db, user_id)
