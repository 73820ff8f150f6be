"""Server configuration as a server's admins and members see it: ``/config
reminder-channel``, ``/config daily-tip``, ``/config daily-tip-off`` and ``/config show``.

The daily tip arriving at its time, and a tip channel that breaks later, are in
``test_config_daily_tip.py`` (they need the bot's clock to run fast).
"""

from __future__ import annotations

import pytest

from testkit.bot_process import BotProcess
from testkit.emulator import ClientRefused, Driver, Emulator
from testkit.emulator import permissions as perms
from testkit.emulator.state import Channel, User
from tests.e2e.config_helpers import (
    NOT_SET,
    TIP_OFF,
    config,
    invite_bot_back,
    public_messages,
    record_message_bodies,
    server_outage,
    show,
    wait_for_log,
)
from tests.e2e.conftest import Server, StartBot

SUBCOMMANDS = ("reminder-channel", "daily-tip", "daily-tip-off", "show")
REFUSAL = "Manage Server"


def an_admin(driver: Driver, server: Server, kind: str) -> User:
    """The server owner, or a member given a role with Manage Server or Administrator."""
    if kind == "owner":
        return server.owner
    permission = perms.MANAGE_GUILD if kind == "manage-server role" else perms.ADMINISTRATOR
    role = driver.add_role(server.guild, kind, permission)
    driver.give_role(server.guild, server.member, role)
    return server.member


@pytest.mark.parametrize("kind", ["owner", "manage-server role", "administrator role"])
async def test_an_admin_sets_every_setting_and_show_lists_it(
    driver: Driver, bot: BotProcess, server: Server, kind: str
) -> None:
    """An admin points reminders at #reminders, schedules a 9pm Berlin tip in #tips, checks
    ``/config show``, turns the tip off and checks again; every answer is private."""
    admin = an_admin(driver, server, kind)
    guild = server.guild
    reminders = driver.add_channel(guild, "reminders")
    tips = driver.add_channel(guild, "tips")

    before = await show(driver, user=admin, guild=guild)
    assert NOT_SET in before["Reminder channel"]
    assert before["Daily tip"].startswith(TIP_OFF)

    reply = await config(driver, "reminder-channel", user=admin, guild=guild, channel=reminders)
    assert reply.ephemeral
    assert f"Reminder channel set to <#{reminders.id}>" in reply.text

    zones = await driver.autocomplete(
        "config daily-tip", "timezone", "berlin", user=admin, guild=guild
    )
    assert "Europe/Berlin" in [choice["value"] for choice in zones]
    reply = await config(
        driver, "daily-tip", user=admin, guild=guild, channel=tips, time="9pm", timezone="berlin"
    )
    assert reply.ephemeral
    assert f"posted in <#{tips.id}> at 21:00 (Europe/Berlin)" in reply.text

    settings = await show(driver, user=admin, guild=guild)
    assert settings["Reminder channel"] == f"<#{reminders.id}>"
    assert settings["Daily tip"].startswith(f"21:00 (Europe/Berlin) in <#{tips.id}>")
    assert "Next post <t:" in settings["Daily tip"]
    assert "⚠️" not in "".join(settings.values())

    reply = await config(driver, "daily-tip-off", user=admin, guild=guild)
    assert reply.ephemeral and "daily tip is off" in reply.text
    settings = await show(driver, user=admin, guild=guild)
    assert settings["Daily tip"].startswith(TIP_OFF)
    assert settings["Reminder channel"] == f"<#{reminders.id}>"  # untouched

    again = await config(driver, "daily-tip-off", user=admin, guild=guild)
    assert again.ephemeral and "was not on" in again.text
    assert public_messages(driver, guild) == []  # nothing of this was public


async def test_a_member_without_manage_server_is_refused_even_invoking_it_directly(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    """Discord hides ``/config`` from a plain member; when the member sends it anyway (a
    crafted interaction, or a server that overrode the command's permissions) every
    sub-command is refused privately and the owner's settings stay as they were."""
    guild, owner, member = server.guild, server.owner, server.member
    reminders = driver.add_channel(guild, "reminders")
    tips = driver.add_channel(guild, "tips")
    await config(driver, "reminder-channel", user=owner, guild=guild, channel=reminders)
    await config(
        driver, "daily-tip", user=owner, guild=guild, channel=tips, time="08:00", timezone="UTC"
    )
    before = await show(driver, user=owner, guild=guild)

    attempts = {
        "reminder-channel": {"channel": server.general},
        "daily-tip": {"channel": server.general, "time": "12:00", "timezone": "Asia/Tokyo"},
        "daily-tip-off": {},
        "show": {},
    }
    for sub, options in attempts.items():
        with pytest.raises(ClientRefused, match="default_member_permissions"):
            await config(driver, sub, user=member, guild=guild, **options)
        reply = await config(driver, sub, user=member, guild=guild, force=True, **options)
        assert reply.ephemeral, f"/config {sub}: the refusal must be private"
        assert REFUSAL in reply.text, f"/config {sub} answered {reply.text!r}"
        assert "<#" not in reply.text, "a refused member must not see the settings"

    assert await show(driver, user=owner, guild=guild) == before
    assert public_messages(driver, guild) == []


async def test_config_is_for_servers_only(driver: Driver, bot: BotProcess, server: Server) -> None:
    """In a DM with the bot ``/config`` is not offered; sent anyway, it says servers only."""
    with pytest.raises(ClientRefused, match="not available in DMs"):
        await driver.slash("config show", user=server.owner)
    reply = await driver.slash("config show", user=server.owner, force=True)
    assert "servers only" in reply.text


@pytest.mark.parametrize(
    ("permission", "name"),
    [
        (perms.SEND_MESSAGES, "Send Messages"),
        (perms.EMBED_LINKS, "Embed Links"),
        (perms.VIEW_CHANNEL, "View Channel"),
    ],
)
async def test_a_channel_where_the_bot_cannot_post_is_refused_naming_the_permission(
    driver: Driver, bot: BotProcess, server: Server, permission: int, name: str
) -> None:
    """#quiet denies the bot's role one permission it needs; both channel settings refuse
    #quiet, name that permission, and nothing is saved."""
    guild, owner = server.guild, server.owner
    quiet = driver.add_channel(guild, "quiet")
    driver.deny_bot(quiet, permission)

    for reply in (
        await config(driver, "reminder-channel", user=owner, guild=guild, channel=quiet),
        await config(
            driver, "daily-tip", user=owner, guild=guild, channel=quiet, time="9:00", timezone="UTC"
        ),
    ):
        assert reply.ephemeral
        assert f"<#{quiet.id}>" in reply.text and f"**{name}**" in reply.text, reply.text

    settings = await show(driver, user=owner, guild=guild)
    assert NOT_SET in settings["Reminder channel"]
    assert settings["Daily tip"].startswith(TIP_OFF)


async def test_deleting_a_channel_clears_only_the_settings_that_named_it(
    driver: Driver, emulator: Emulator, bot: BotProcess, server: Server
) -> None:
    """Someone deletes #random, then #tips, then #reminders: each time ``/config show`` has
    forgotten exactly the setting that pointed there."""
    guild, owner = server.guild, server.owner
    reminders = driver.add_channel(guild, "reminders")
    tips = driver.add_channel(guild, "tips")
    random = driver.add_channel(guild, "random")
    await config(driver, "reminder-channel", user=owner, guild=guild, channel=reminders)
    await config(
        driver, "daily-tip", user=owner, guild=guild, channel=tips, time="7:30", timezone="UTC"
    )
    configured = await show(driver, user=owner, guild=guild)

    async def delete(channel: Channel) -> dict[str, str]:
        await driver.delete_channel(channel)
        await wait_for_log(emulator, bot, f"channel {channel.id} deleted in server {guild.id}")
        return await show(driver, user=owner, guild=guild)

    assert await delete(random) == configured

    settings = await delete(tips)
    assert settings["Daily tip"].startswith(TIP_OFF)
    assert settings["Reminder channel"] == f"<#{reminders.id}>"

    settings = await delete(reminders)
    assert NOT_SET in settings["Reminder channel"]
    assert settings["Daily tip"].startswith(TIP_OFF)


async def test_a_server_that_removes_the_bot_loses_its_settings_and_no_other_server_does(
    driver: Driver, emulator: Emulator, bot: BotProcess, server: Server
) -> None:
    """Two servers are configured. Discord loses the first for a moment (an outage, not a
    removal) and the second kicks the bot: the first keeps its settings, and when the second
    invites the bot back its settings start empty."""
    first, owner = server.guild, server.owner
    other_owner = driver.add_user("nadia")
    second = driver.add_guild("Cozy Corner", owner=other_owner, channels=["general", "tips"])
    for guild, admin in ((first, owner), (second, other_owner)):
        tips = (
            driver.channel(guild, "tips") if guild is second else driver.add_channel(guild, "tips")
        )
        await config(driver, "reminder-channel", user=admin, guild=guild, channel=tips)
        await config(
            driver, "daily-tip", user=admin, guild=guild, channel=tips, time="10:00", timezone="UTC"
        )
    first_settings = await show(driver, user=owner, guild=first)

    await server_outage(driver, first)
    await driver.remove_bot_from_guild(second)
    # Listeners run in event order and write one at a time: once the second server's
    # settings are cleared, anything the outage of the first might have done is done too.
    await wait_for_log(emulator, bot, f"removed from server {second.id}")
    assert await show(driver, user=owner, guild=first) == first_settings

    await invite_bot_back(driver, second)
    settings = await show(driver, user=other_owner, guild=second)
    assert NOT_SET in settings["Reminder channel"]
    assert settings["Daily tip"].startswith(TIP_OFF)


async def test_channels_deleted_while_the_bot_was_offline_are_cleared_too(
    driver: Driver, start_bot: StartBot, bot: BotProcess, server: Server
) -> None:
    """The bot is down for a deploy while someone deletes #reminders and #tips. Back up,
    ``/config show`` has cleared both settings, as if it had seen the deletions."""
    guild, owner = server.guild, server.owner
    reminders = driver.add_channel(guild, "reminders")
    tips = driver.add_channel(guild, "tips")
    await config(driver, "reminder-channel", user=owner, guild=guild, channel=reminders)
    await config(
        driver, "daily-tip", user=owner, guild=guild, channel=tips, time="7:30", timezone="UTC"
    )
    assert await bot.terminate() == 0
    await driver.delete_channel(reminders)
    await driver.delete_channel(tips)

    await start_bot()
    settings = await show(driver, user=owner, guild=guild)
    assert NOT_SET in settings["Reminder channel"], settings
    assert settings["Daily tip"].startswith(TIP_OFF), settings


async def test_a_server_that_removed_the_bot_while_it_was_offline_loses_its_settings(
    driver: Driver, start_bot: StartBot, bot: BotProcess, server: Server
) -> None:
    """The bot is down while the server's admins kick it. Much later they invite it back:
    its old reminder channel and daily tip are gone, as when it is kicked while running."""
    guild, owner = server.guild, server.owner
    tips = driver.add_channel(guild, "tips")
    await config(driver, "reminder-channel", user=owner, guild=guild, channel=tips)
    await config(
        driver, "daily-tip", user=owner, guild=guild, channel=tips, time="7:30", timezone="UTC"
    )
    assert await bot.terminate() == 0
    await driver.remove_bot_from_guild(guild)

    await start_bot()
    await invite_bot_back(driver, guild)
    settings = await show(driver, user=owner, guild=guild)
    assert NOT_SET in settings["Reminder channel"], settings
    assert settings["Daily tip"].startswith(TIP_OFF), settings


async def test_a_member_with_closed_dms_gets_the_reminder_in_the_reminder_channel(
    driver: Driver, emulator: Emulator, bot: BotProcess, server: Server
) -> None:
    """The owner sets #reminders. Max has closed his DMs and tries ``/remind test hydration``
    in the server: the reminder appears in #reminders starting with his mention, pinging only
    him, and he is told where it went."""
    sent = record_message_bodies(emulator)
    guild, member = server.guild, server.member
    reminders = driver.add_channel(guild, "reminders")
    await config(driver, "reminder-channel", user=server.owner, guild=guild, channel=reminders)
    driver.close_dms(member)

    reply = await driver.slash("remind test", user=member, guild=guild, kind="hydration")
    assert reply.ephemeral
    assert f"<#{reminders.id}>" in reply.text and "DMs are closed" in reply.text, reply.text

    [reminder] = await driver.wait_for_message(reminders, within=5)
    assert reminder.content.startswith(f"<@{member.id}>")
    assert "water" in reminder.embeds[0]["title"].lower()
    assert sent.by_message_id[reminder.id]["allowed_mentions"] == {
        "parse": [],
        "users": [str(member.id)],
    }
    assert driver.dm_messages(member) == []
    assert driver.messages_in(server.general) == []  # not in the channel he typed in


async def test_help_and_about_list_the_config_commands(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    """``/help`` shows the four /config commands with what each does; ``/about`` names them."""
    reply = await driver.slash("help", user=server.member, guild=server.guild)
    for sub in SUBCOMMANDS:
        assert f"`/config {sub}` " in reply.text, f"/config {sub} missing from /help"
    about = await driver.slash("about", user=server.member, guild=server.guild)
    commands = next(f["value"] for f in about.embed["fields"] if f["name"] == "Commands")
    assert "`/config` (daily-tip, daily-tip-off, reminder-channel, show)" in commands
    assert "`/remind` (" in commands and "`/privacy` (delete, export)" in commands


async def test_the_daily_tip_channel_picker_offers_only_text_channels(
    driver: Driver, emulator: Emulator, bot: BotProcess, server: Server
) -> None:
    """When the admin opens the channel picker of ``/config daily-tip`` Discord lists only
    text and announcement channels, as it does for ``/config reminder-channel``."""
    [definition] = [c for c in emulator.world.global_commands if c["name"] == "config"]
    pickers = {
        sub["name"]: sorted(o.get("channel_types") or [])
        for sub in definition["options"]
        for o in sub.get("options") or []
        if o["name"] == "channel"
    }
    assert pickers["reminder-channel"] == [0, 5]  # GUILD_TEXT, GUILD_ANNOUNCEMENT
    assert pickers["daily-tip"] == [0, 5]
