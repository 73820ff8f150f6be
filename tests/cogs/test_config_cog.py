"""``/config …`` as a server admin sees it, and what happens when channels or servers go away.

An admin with Manage Server types ``/config reminder-channel #reminders`` and gets one
private line: "✅ Reminder channel set to #reminders. …". A member without Manage Server,
anyone in DMs, a voice channel, or a channel where the bot can't send messages or embed
links gets a private refusal naming what is wrong (the missing permission in Discord's own
words), and nothing is stored. ``/config show`` lists the settings and anything broken. A
deleted channel or a server that removed the bot clears the settings that named them.

Handlers are called directly with strict fakes for Discord; the service and its SQLite
database are real.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import discord
import pytest

from cogs.config import Config
from domain.errors import UserFacingError
from services.engine.transport import MissingAccess
from services.guild_config import ChannelAccess
from storage import guild_settings, reminders
from tests.cogs.fakes import (
    GUILD,
    make_guild,
    make_interaction,
    make_rig,
    manager_permissions,
    open_db,
    option_channel,
    sent,
    snapshot,
)

BERLIN = ZoneInfo("Europe/Berlin")
OK = 600  # a text channel where the bot has everything it needs
TIPS = 601  # another good one
NO_SEND = 602
NO_EMBED = 603
NEITHER = 604
HIDDEN = 605
VOICE = 606
CATEGORY = 607
THREAD = 608
GONE = 699  # not in the server (deleted, or never visible)


def channel_permissions() -> dict[int, discord.Permissions]:
    good = {"view_channel": True, "send_messages": True, "embed_links": True}
    return {
        OK: discord.Permissions(**good),
        TIPS: discord.Permissions(**good),
        NO_SEND: discord.Permissions(**{**good, "send_messages": False}),
        NO_EMBED: discord.Permissions(**{**good, "embed_links": False}),
        NEITHER: discord.Permissions(view_channel=True),
        HIDDEN: discord.Permissions(),
    }


@pytest.fixture
async def rig(tmp_path):
    db = await open_db(tmp_path)
    yield make_rig(db)
    await db.close()


@pytest.fixture
def cog(rig) -> Config:
    return Config(rig.guild_config)


@pytest.fixture
def guild():
    others = {
        VOICE: discord.VoiceChannel,
        CATEGORY: discord.CategoryChannel,
        THREAD: discord.Thread,
    }
    return make_guild(GUILD, channel_permissions(), others)


def admin(rig, guild, permissions: discord.Permissions | None = None):
    return make_interaction(
        client=rig.bot,
        guild=guild,
        permissions=permissions if permissions is not None else manager_permissions(),
    )


async def set_tip(cog, rig, guild, channel: int = TIPS, time: str = "9:00") -> None:
    await Config.daily_tip.callback(
        cog, admin(rig, guild), channel=option_channel(channel), time=time, timezone="berlin"
    )


# --- /config reminder-channel --------------------------------------------------------------


async def test_reminder_channel_is_set(rig, cog, guild) -> None:
    interaction = admin(rig, guild)
    await Config.reminder_channel.callback(cog, interaction, channel=option_channel(OK))
    text, _ = sent(interaction)
    assert text.startswith(f"✅ Reminder channel set to <#{OK}>.")
    assert await guild_settings.reminder_channel(rig.db, GUILD) == OK


async def test_an_administrator_counts_as_manage_server(rig, cog, guild) -> None:
    interaction = admin(rig, guild, discord.Permissions(administrator=True))
    await Config.reminder_channel.callback(cog, interaction, channel=option_channel(OK))
    assert await guild_settings.reminder_channel(rig.db, GUILD) == OK


async def test_setting_it_again_clears_an_old_problem(rig, cog, guild) -> None:
    await guild_settings.set_reminder_channel(rig.db, GUILD, OK)
    await guild_settings.set_reminder_channel_problem(rig.db, GUILD, "missing access")
    await Config.reminder_channel.callback(cog, admin(rig, guild), channel=option_channel(TIPS))
    settings = await guild_settings.get(rig.db, GUILD)
    assert (settings.reminder_channel_id, settings.reminder_channel_problem) == (TIPS, None)


@pytest.mark.parametrize(
    ("channel", "kind", "message"),
    [
        (NO_SEND, discord.ChannelType.text, r"missing the \*\*Send Messages\*\* permission there"),
        (NO_EMBED, discord.ChannelType.text, r"missing the \*\*Embed Links\*\* permission there"),
        (
            NEITHER,
            discord.ChannelType.text,
            r"\*\*Send Messages\*\*, \*\*Embed Links\*\* permissions there",
        ),
        (HIDDEN, discord.ChannelType.text, r"\*\*View Channel\*\*"),
        (GONE, discord.ChannelType.text, rf"I can't find <#{GONE}>; pick another channel"),
        (VOICE, discord.ChannelType.voice, "Pick a text channel"),
        (CATEGORY, discord.ChannelType.category, "Pick a text channel"),
        (THREAD, discord.ChannelType.public_thread, "Pick a text channel"),
    ],
)
@pytest.mark.parametrize("command", ["reminder-channel", "daily-tip"])
async def test_an_unusable_channel_is_refused_and_changes_nothing(
    rig, cog, guild, command: str, channel: int, kind: discord.ChannelType, message: str
) -> None:
    before = await snapshot(rig.db)
    interaction = admin(rig, guild)
    with pytest.raises(UserFacingError, match=message) as refused:
        if command == "reminder-channel":
            await Config.reminder_channel.callback(
                cog, interaction, channel=option_channel(channel, kind)
            )
        else:
            await Config.daily_tip.callback(
                cog,
                interaction,
                channel=option_channel(channel, kind),
                time="9:00",
                timezone="berlin",
            )
    if "missing" in message or "View" in message:
        assert "Edit Channel → Permissions" in str(refused.value)  # says how to fix it
    interaction.response.send_message.assert_not_awaited()
    assert await snapshot(rig.db) == before


# --- who may use /config -------------------------------------------------------------------


async def call(command: str, cog, interaction) -> None:
    if command == "reminder-channel":
        await Config.reminder_channel.callback(cog, interaction, channel=option_channel(OK))
    elif command == "daily-tip":
        await Config.daily_tip.callback(
            cog, interaction, channel=option_channel(OK), time="9:00", timezone="berlin"
        )
    elif command == "daily-tip-off":
        await Config.daily_tip_off.callback(cog, interaction)
    else:
        await Config.show.callback(cog, interaction)


COMMANDS = ["reminder-channel", "daily-tip", "daily-tip-off", "show"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    "permissions",
    [
        discord.Permissions(),
        discord.Permissions(send_messages=True, manage_messages=True, manage_channels=True),
    ],
)
async def test_a_member_without_manage_server_is_refused(
    rig, cog, guild, command: str, permissions: discord.Permissions
) -> None:
    """Also when a server overrode the default permission, or the interaction was crafted."""
    await set_tip(cog, rig, guild)
    before = await snapshot(rig.db)
    interaction = admin(rig, guild, permissions)
    with pytest.raises(UserFacingError, match=r"Only members with the \*\*Manage Server\*\*"):
        await call(command, cog, interaction)
    interaction.response.send_message.assert_not_awaited()
    assert await snapshot(rig.db) == before


@pytest.mark.parametrize("command", COMMANDS)
async def test_config_in_dms_is_refused(rig, cog, command: str) -> None:
    interaction = make_interaction(
        client=rig.bot, guild=None, guild_id=None, permissions=manager_permissions()
    )
    with pytest.raises(UserFacingError, match="`/config` works in servers only."):
        await call(command, cog, interaction)
    assert await snapshot(rig.db) == [[], [], [], [], []]


def test_the_group_is_hidden_from_non_admins_and_dms(cog) -> None:
    group = cog.app_command
    assert group.default_permissions == discord.Permissions(manage_guild=True)
    assert group.guild_only
    assert group.allowed_contexts.dm_channel is False


# --- /config daily-tip ---------------------------------------------------------------------


async def test_daily_tip_is_scheduled_at_the_local_time(rig, cog, guild) -> None:
    interaction = admin(rig, guild)
    await Config.daily_tip.callback(
        cog, interaction, channel=option_channel(TIPS), time="9am", timezone="berlin"
    )
    text, _ = sent(interaction)
    tomorrow = datetime(2024, 6, 4, 9, 0, tzinfo=BERLIN)  # it is 12:00 in Berlin
    assert text == (
        f"💡 A daily tip will be posted in <#{TIPS}> at 09:00 (Europe/Berlin). "
        f"First one <t:{int(tomorrow.timestamp())}:R>."
    )
    tip = await reminders.for_guild(rig.db, GUILD, "daily_tip")
    assert (tip.channel_id, tip.times, tip.zone, tip.next_fire_at) == (
        TIPS,
        "09:00",
        "Europe/Berlin",
        int(tomorrow.timestamp()),
    )
    assert tip.user_id is None


async def test_daily_tip_set_again_moves_it_and_clears_a_problem(rig, cog, guild) -> None:
    await set_tip(cog, rig, guild)
    await guild_settings.set_daily_tip_problem(rig.db, GUILD, "channel deleted")
    await set_tip(cog, rig, guild, channel=OK, time="18:30")
    tip = await reminders.for_guild(rig.db, GUILD, "daily_tip")
    assert (tip.channel_id, tip.times) == (OK, "18:30")
    assert (await guild_settings.get(rig.db, GUILD)).daily_tip_problem is None


@pytest.mark.parametrize(
    ("time", "zone", "message"),
    [
        ("25:99", "berlin", "Accepted: 21:30"),
        ("9", "berlin", "Accepted: 21:30"),
        ("<@&1> 9am", "berlin", "Accepted: 21:30"),
        ("9am", "Mars/Olympus", "I don't know that time zone"),
        ("9am", "@everyone", "I don't know that time zone"),
    ],
)
async def test_daily_tip_bad_time_or_zone_changes_nothing(
    rig, cog, guild, time: str, zone: str, message: str
) -> None:
    await set_tip(cog, rig, guild)
    before = await snapshot(rig.db)
    interaction = admin(rig, guild)
    with pytest.raises(UserFacingError, match=message) as refused:
        await Config.daily_tip.callback(
            cog, interaction, channel=option_channel(OK), time=time, timezone=zone
        )
    assert "@everyone" not in str(refused.value) and "<@&" not in str(refused.value)
    assert await snapshot(rig.db) == before


async def test_daily_tip_off(rig, cog, guild) -> None:
    await set_tip(cog, rig, guild)
    interaction = admin(rig, guild)
    await Config.daily_tip_off.callback(cog, interaction)
    assert sent(interaction)[0] == "🛑 The daily tip is off."
    assert await reminders.for_guild(rig.db, GUILD, "daily_tip") is None

    interaction = admin(rig, guild)
    await Config.daily_tip_off.callback(cog, interaction)
    assert sent(interaction)[0] == "The daily tip was not on, so nothing changed."


# --- /config show --------------------------------------------------------------------------


async def show(cog, rig, guild) -> dict[str, str]:
    interaction = admin(rig, guild)
    await Config.show.callback(cog, interaction)
    embed = sent(interaction)[1]["embed"]
    assert embed.title == "Steady settings for Calm Muscles"
    return {f.name: f.value for f in embed.fields}


async def test_show_with_nothing_set(rig, cog, guild) -> None:
    assert await show(cog, rig, guild) == {
        "Reminder channel": "Not set. Set it with `/config reminder-channel`.",
        "Daily tip": "Off. Turn it on with `/config daily-tip`.",
    }


async def test_show_with_everything_set(rig, cog, guild) -> None:
    await Config.reminder_channel.callback(cog, admin(rig, guild), channel=option_channel(OK))
    await set_tip(cog, rig, guild)
    tomorrow = int(datetime(2024, 6, 4, 9, 0, tzinfo=BERLIN).timestamp())
    assert await show(cog, rig, guild) == {
        "Reminder channel": f"<#{OK}>",
        "Daily tip": f"09:00 (Europe/Berlin) in <#{TIPS}>\nNext post <t:{tomorrow}:R>.",
    }


async def test_show_names_what_broke_since(rig, cog, guild) -> None:
    # Permissions changed after the channels were set; the tip's last post failed.
    await guild_settings.set_reminder_channel(rig.db, GUILD, NO_EMBED)
    await rig.guild_config.set_daily_tip(GUILD, ChannelAccess(GONE), "9:00", "berlin")
    fields = await show(cog, rig, guild)
    assert fields["Reminder channel"] == (f"<#{NO_EMBED}>\n⚠️ I'm missing **Embed Links** there.")
    assert "⚠️ This channel no longer exists; choose another." in fields["Daily tip"]


async def test_show_reports_a_failed_post_and_a_paused_tip(rig, cog, guild) -> None:
    await guild_settings.set_reminder_channel(rig.db, GUILD, OK)
    await guild_settings.set_reminder_channel_problem(rig.db, GUILD, "missing access")
    await set_tip(cog, rig, guild)
    tip = await reminders.for_guild(rig.db, GUILD, "daily_tip")
    await reminders.deactivate(rig.db, [tip.id], "channel_broken", 0)
    await guild_settings.set_daily_tip_problem(rig.db, GUILD, "missing permission")
    fields = await show(cog, rig, guild)
    assert fields["Reminder channel"] == f"<#{OK}>\n⚠️ The last post there failed: missing access"
    assert fields["Daily tip"] == (
        f"09:00 (Europe/Berlin) in <#{TIPS}>\n⚠️ The last post there failed: missing permission"
        "\n⚠️ Paused after a failed post; set it again with `/config daily-tip`."
    )


async def test_show_forgets_a_failed_post_once_a_later_post_worked(rig, cog, guild) -> None:
    await Config.reminder_channel.callback(cog, admin(rig, guild), channel=option_channel(OK))
    await rig.guild_config.post_failed(GUILD, OK, MissingAccess())
    assert (await show(cog, rig, guild))["Reminder channel"] == (
        f"<#{OK}>\n⚠️ The last post there failed: {MissingAccess.reason}"
    )
    await rig.guild_config.post_succeeded(GUILD, OK)
    assert (await show(cog, rig, guild))["Reminder channel"] == f"<#{OK}>"


# --- channels and servers going away (what the bot's listeners call) -----------------------


async def test_deleting_the_reminder_channel_clears_it(rig, cog, guild) -> None:
    await guild_settings.set_reminder_channel(rig.db, GUILD, OK)
    await set_tip(cog, rig, guild, channel=TIPS)
    await rig.guild_config.channel_deleted(GUILD, OK)
    assert await guild_settings.reminder_channel(rig.db, GUILD) is None
    assert (await reminders.for_guild(rig.db, GUILD, "daily_tip")).channel_id == TIPS


async def test_deleting_the_tip_channel_stops_the_tip(rig, cog, guild) -> None:
    await guild_settings.set_reminder_channel(rig.db, GUILD, OK)
    await set_tip(cog, rig, guild, channel=TIPS)
    await rig.guild_config.channel_deleted(GUILD, TIPS)
    assert await reminders.for_guild(rig.db, GUILD, "daily_tip") is None
    assert await guild_settings.reminder_channel(rig.db, GUILD) == OK


async def test_deleting_another_channel_changes_nothing(rig, cog, guild) -> None:
    await guild_settings.set_reminder_channel(rig.db, GUILD, OK)
    await set_tip(cog, rig, guild, channel=TIPS)
    before = await snapshot(rig.db)
    await rig.guild_config.channel_deleted(GUILD, NO_SEND)
    assert await snapshot(rig.db) == before


async def test_removing_the_bot_clears_that_server_only(rig, cog, guild) -> None:
    other = make_guild(GUILD + 1, channel_permissions())
    for g in (guild, other):
        await guild_settings.set_reminder_channel(rig.db, g.id, OK)
        await set_tip(cog, rig, g)
    await rig.guild_config.guild_removed(GUILD)
    assert await guild_settings.reminder_channel(rig.db, GUILD) is None
    assert await reminders.for_guild(rig.db, GUILD, "daily_tip") is None
    assert await guild_settings.reminder_channel(rig.db, other.id) == OK
    assert await reminders.for_guild(rig.db, other.id, "daily_tip") is not None
    # Members who chose this server's channel now hear that it has none.
    with pytest.raises(UserFacingError, match="no reminder channel yet"):
        await rig.member_settings.set_delivery(5, "server", GUILD)


# --- the write is not lost to another coroutine's transaction ------------------------------


class Boom(Exception):
    pass


async def test_a_setting_survives_a_concurrent_transaction_that_rolls_back(rig, cog, guild) -> None:
    started, proceed = asyncio.Event(), asyncio.Event()

    async def failing_claim() -> None:
        async with rig.db.transaction():
            started.set()
            await proceed.wait()
            raise Boom

    claim = asyncio.create_task(failing_claim())
    await started.wait()
    interaction = admin(rig, guild)
    command = asyncio.create_task(
        Config.reminder_channel.callback(cog, interaction, channel=option_channel(OK))
    )
    proceed.set()
    results = await asyncio.gather(claim, command, return_exceptions=True)
    assert isinstance(results[0], Boom) and results[1] is None
    assert sent(interaction)[0].startswith("✅ Reminder channel set")
    assert await guild_settings.reminder_channel(rig.db, GUILD) == OK
