"""The embeds of ``/remind``'s answers: the list of reminders and the stats.

Pure functions: views from the service in, ``discord.Embed`` out. What a reminder itself
looks like is decided beside the engine, in :mod:`services.engine.messages`.
"""

from __future__ import annotations

from datetime import time

import discord

from domain.enums import DeliveryMode, DeliveryState, PauseReason, Reason, Via
from domain.kinds import label_of
from services.embeds import STEADY_COLOUR, discord_time
from services.engine.sender import QUEUED, DeliveryResult
from services.reminders import MemberView, SubscriptionView
from services.stats import SKIPPED_NOTE, SKIPPED_TOO_BUSY, KindStats


def clock(t: time) -> str:
    return t.strftime("%H:%M")


def describe_subscription(view: SubscriptionView) -> str:
    times = ", ".join(clock(t) for t in view.times)
    if not view.active:
        state = (
            "paused: your DMs were closed"
            if view.paused_reason == PauseReason.DMS_CLOSED
            else "paused"
        )
        return f"{times} ({view.zone}) — {state}; `/remind resume` restarts it"
    if view.next_fire is None:
        return f"{times} ({view.zone})"
    local = view.next_fire.strftime("%a %d %b %H:%M")
    return f"{times} ({view.zone}) — next: {local} ({discord_time(view.next_fire, 'R')})"


def delivery_line(settings: MemberView) -> str:
    if settings.delivery == DeliveryMode.DM:
        return "**DM**"
    if settings.guild_channel_id is None:
        # The server lost its reminder channel (or removed the bot): say where they go now.
        return "**server reminder channel**, but your server has none now, so by DM"
    return f"**server reminder channel** (<#{settings.guild_channel_id}>)"


def list_embed(settings: MemberView, views: list[SubscriptionView]) -> discord.Embed:
    embed = discord.Embed(title="Your reminders", colour=STEADY_COLOUR)
    if not views:
        embed.description = "You have no reminders yet. Start one with `/remind start`."
    for view in views:
        embed.add_field(
            name=label_of(view.kind),
            value=describe_subscription(view),
            inline=False,
        )
    lines = [
        f"Time zone: **{settings.timezone or 'not set'}**",
        f"Wake-up {clock(settings.wake)}, bedtime {clock(settings.bed)}",
        f"Delivery: {delivery_line(settings)}",
    ]
    if settings.paused_until is not None:
        lines.append(f"Paused until {settings.paused_until.strftime('%a %d %b %H:%M')}")
    embed.add_field(name="Settings", value="\n".join(lines), inline=False)
    return embed


def stats_embed(stats: list[KindStats], days: int) -> discord.Embed:
    embed = discord.Embed(title=f"Your last {days} days", colour=STEADY_COLOUR)
    for row in stats:
        streak = f"{row.streak} day" + ("" if row.streak == 1 else "s")
        value = f"Sent {row.sent} · Done {row.done} · Snoozed {row.snoozed}\nStreak: {streak}"
        if row.restored:
            value += f"\nNot sent: {Reason.RESTORED} ({row.restored})"
        if row.skipped:
            value += f"\n{SKIPPED_TOO_BUSY.capitalize()}: {row.skipped}"
        embed.add_field(name=label_of(row.kind), value=value, inline=True)
    footer = "Done counts when you press Done on a reminder."
    if any(row.skipped for row in stats):
        footer += "\n" + SKIPPED_NOTE
    embed.set_footer(text=footer)
    return embed


def test_result(result: DeliveryResult, delivery: str) -> str:
    """What ``/remind test`` tells the member, given where they asked reminders to go.

    The ledger's error is for the log and the export (``dms_closed``, ``rejected: …``); the
    member gets what happened and what they can do about it.
    """
    if result.state == QUEUED:
        return "📨 Your test reminder is queued and will arrive shortly."
    if result.state != DeliveryState.SENT:
        if result.error == Reason.DMS_CLOSED:
            return (
                "⚠️ I couldn't deliver the test reminder: your DMs are closed to me and there "
                "is no server reminder channel I can post in. Allow direct messages from "
                "server members in your privacy settings, or ask an admin to set "
                "`/config reminder-channel`."
            )
        return "⚠️ I couldn't deliver the test reminder: Discord refused it. Please try again later."
    if result.via == Via.FALLBACK:
        return f"📨 Sent a test reminder in <#{result.channel_id}> (your DMs are closed)."
    if result.via == Via.SERVER:
        return f"📨 Sent a test reminder in <#{result.channel_id}>."
    if delivery == DeliveryMode.SERVER:
        return (
            "📨 Sent a test reminder by DM: your server has no reminder channel I can post in "
            "right now, so your reminders come by DM until it has."
        )
    return "📨 Sent a test reminder by DM."
