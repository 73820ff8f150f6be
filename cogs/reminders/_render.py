"""What a reminder looks like: the message body the sender posts, and /remind's answers.

Pure functions: content + occurrence in, JSON-ready message payload or ``discord.Embed`` out.
The sender adds the ``nonce``; everything else about the message is decided here.
"""

from __future__ import annotations

from datetime import time

import discord

from bot.embeds import STEADY_COLOUR, discord_time
from bot.reminders.sender import Occurrence
from bot.reminders.service import KindStats, MemberView, SubscriptionView
from content import Content

KIND_TITLES: dict[str, str] = {
    "hydration": "💧 Time for a glass of water",
    "stretching": "🧘 Time to stretch before bed",
    "sleep": "🌙 Time to wind down for sleep",
    "caffeine": "☕ Caffeine cut-off time",
}
KIND_NAMES: dict[str, str] = {
    "hydration": "Hydration",
    "stretching": "Stretching",
    "sleep": "Sleep wind-down",
    "caffeine": "Caffeine cut-off",
}


def pick(items: list, key: int):
    """Rotate through ``items`` by a number that grows with each reminder (the ledger id)."""
    return items[key % len(items)]


def reminder_embed(content: Content, occurrence: Occurrence) -> discord.Embed:
    message = pick(content.reminder_messages(occurrence.kind), occurrence.delivery_id)
    tip = pick(content.tips_for_kind(occurrence.kind), occurrence.delivery_id // 2)
    title = KIND_TITLES[occurrence.kind]
    if occurrence.source == "snooze":
        title += " (snoozed)"
    elif occurrence.source == "test":
        title += " (test)"
    embed = discord.Embed(title=title, description=message, colour=STEADY_COLOUR)
    embed.add_field(name="Tip", value=tip.text, inline=False)
    embed.set_footer(text=content.disclaimer)
    return embed


def reminder_payload(content: Content, occurrence: Occurrence, buttons: list[dict]) -> dict:
    """The POST /channels/{id}/messages body for a member's reminder (without the nonce).

    In a server channel the sender prefixes the member's mention and allows only that ping.
    """
    return {
        "embeds": [reminder_embed(content, occurrence).to_dict()],
        "components": [{"type": 1, "components": buttons}],
        "allowed_mentions": {"parse": []},
    }


def daily_tip_payload(content: Content, position: int, guild_id: int) -> dict:
    """A server's daily tip. Tips rotate in content order from a per-server starting point,
    so no tip repeats until all were shown."""
    tips = content.all_tips()
    _tip_id, text = tips[(guild_id + position) % len(tips)]
    embed = discord.Embed(
        title="💡 Today's tip for calmer muscles", description=text, colour=STEADY_COLOUR
    )
    embed.set_footer(text=content.disclaimer)
    return {"embeds": [embed.to_dict()], "components": [], "allowed_mentions": {"parse": []}}


def clock(t: time) -> str:
    return t.strftime("%H:%M")


def describe_subscription(view: SubscriptionView) -> str:
    times = ", ".join(clock(t) for t in view.times)
    if not view.active:
        state = "paused: your DMs were closed" if view.paused_reason == "dms_closed" else "paused"
        return f"{times} ({view.zone}) — {state}; `/remind resume` restarts it"
    if view.next_fire is None:
        return f"{times} ({view.zone})"
    local = view.next_fire.strftime("%a %d %b %H:%M")
    return f"{times} ({view.zone}) — next: {local} ({discord_time(view.next_fire, 'R')})"


def list_embed(settings: MemberView, views: list[SubscriptionView]) -> discord.Embed:
    embed = discord.Embed(title="Your reminders", colour=STEADY_COLOUR)
    if not views:
        embed.description = "You have no reminders yet. Start one with `/remind start`."
    for view in views:
        embed.add_field(
            name=KIND_NAMES.get(view.kind, view.kind),
            value=describe_subscription(view),
            inline=False,
        )
    lines = [
        f"Time zone: **{settings.timezone or 'not set'}**",
        f"Wake-up {clock(settings.wake)}, bedtime {clock(settings.bed)}",
        f"Delivery: **{'DM' if settings.delivery == 'dm' else 'server reminder channel'}**",
    ]
    if settings.paused_until is not None:
        lines.append(f"Paused until {settings.paused_until.strftime('%a %d %b %H:%M')}")
    embed.add_field(name="Settings", value="\n".join(lines), inline=False)
    return embed


def stats_embed(stats: list[KindStats], days: int) -> discord.Embed:
    embed = discord.Embed(title=f"Your last {days} days", colour=STEADY_COLOUR)
    for row in stats:
        streak = f"{row.streak} day" + ("" if row.streak == 1 else "s")
        embed.add_field(
            name=KIND_NAMES[row.kind],
            value=f"Sent {row.sent} · Done {row.done} · Snoozed {row.snoozed}\nStreak: {streak}",
            inline=True,
        )
    embed.set_footer(text="Done counts when you press Done on a reminder.")
    return embed
