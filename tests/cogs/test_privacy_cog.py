"""``/privacy export`` and ``/privacy delete``, as a member sees them.

``/privacy export`` answers privately with "📦 Here is everything Steady stores about you."
and a JSON file: settings, subscriptions, snoozes and delivery records, ids as strings, no
message content. ``/privacy delete`` first asks, privately, with two buttons — "Delete
everything" and "Keep my data" — that carry the member's id, so they still work after a
restart and nobody else can press them to delete someone's data. Deleting replaces the
question with "🗑️ Done: …" and erases the member's rows and nobody else's.

Handlers are called directly with strict fakes for Discord; the service and its SQLite
database are real.
"""

from __future__ import annotations

import json

import discord
import pytest

from cogs.privacy import Privacy, PrivacyButton
from cogs.reminders import ReminderButton
from services.guild_config import ChannelAccess
from storage import guild_settings, members, reminders
from tests.cogs.fakes import (
    GUILD,
    OTHER_USER,
    USER,
    make_interaction,
    make_rig,
    open_db,
    sent,
    snapshot,
)


@pytest.fixture
async def rig(tmp_path):
    db = await open_db(tmp_path)
    yield make_rig(db)
    await db.close()


@pytest.fixture
def cog(rig) -> Privacy:
    return Privacy(rig.bot)


async def member_with_history(rig, user_id: int) -> int:
    """Settings, two subscriptions, a sent test reminder that was snoozed; its delivery id."""
    await rig.subscriptions.start(user_id, GUILD, "hydration", "9am", 3, "berlin")
    await rig.subscriptions.start(user_id, GUILD, "sleep")
    await rig.subscriptions.send_test(user_id, "sleep", GUILD)
    delivery = rig.sender.deliveries[-1]
    await rig.buttons.snooze(delivery.id, user_id)
    return delivery.id


async def export(rig, cog, user_id: int = USER) -> tuple[discord.File, dict]:
    interaction = make_interaction(client=rig.bot, user_id=user_id, guild_id=GUILD)
    await Privacy.export.callback(cog, interaction)
    text, kwargs = sent(interaction)
    assert text == "📦 Here is everything Steady stores about you."
    file = kwargs["file"]
    return file, json.loads(file.fp.read().decode())


async def test_export_is_a_json_file_of_everything_stored(rig, cog) -> None:
    delivery_id = await member_with_history(rig, USER)
    file, data = await export(rig, cog)
    assert file.filename == f"steady-data-{USER}.json"
    assert data["user_id"] == str(USER)
    assert data["settings"]["timezone"] == "Europe/Berlin"
    assert data["settings"]["home_guild_id"] == str(GUILD)
    assert {s["kind"] for s in data["subscriptions"]} == {"hydration", "sleep"}
    assert [s["kind"] for s in data["snoozes"]] == ["sleep"]
    [delivery] = data["deliveries"]
    assert (delivery["id"], delivery["source"], delivery["outcome"]) == (
        delivery_id,
        "test",
        "snoozed",
    )
    # Snowflakes as strings: JSON readers lose precision on 64-bit integers.
    assert isinstance(delivery["channel_id"], str) and isinstance(delivery["message_id"], str)


async def test_export_of_a_stranger_is_empty_not_an_error(rig, cog) -> None:
    await member_with_history(rig, OTHER_USER)
    _, data = await export(rig, cog)
    assert data["settings"] is None
    assert data["subscriptions"] == data["snoozes"] == data["deliveries"] == []


async def test_export_holds_only_the_members_own_data(rig, cog) -> None:
    await member_with_history(rig, USER)
    await member_with_history(rig, OTHER_USER)
    _, data = await export(rig, cog)
    assert str(OTHER_USER) not in json.dumps(data)


async def test_delete_asks_first_with_two_buttons_and_deletes_nothing(rig, cog) -> None:
    await member_with_history(rig, USER)
    before = await snapshot(rig.db)
    interaction = make_interaction(client=rig.bot, guild_id=GUILD)
    await Privacy.delete.callback(cog, interaction)
    text, kwargs = sent(interaction)
    assert "It can't be undone. Delete everything?" in text
    view: discord.ui.View = kwargs["view"]
    assert view.timeout is None
    assert [(b.item.label, b.custom_id) for b in view.children] == [
        ("Delete everything", f"steady:privacy:delete:{USER}"),
        ("Keep my data", f"steady:privacy:keep:{USER}"),
    ]
    assert await snapshot(rig.db) == before


async def press(rig, action: str, owner: int = USER, presser: int = USER):
    button = PrivacyButton(action, owner)
    interaction = make_interaction(client=rig.bot, user_id=presser, custom_id=button.custom_id)
    await button.callback(interaction)
    return interaction


async def test_confirming_deletes_everything_about_the_member_only(rig) -> None:
    await member_with_history(rig, USER)
    await member_with_history(rig, OTHER_USER)
    await rig.guild_config.set_daily_tip(GUILD, ChannelAccess(600), "9:00", "berlin")
    await guild_settings.set_reminder_channel(rig.db, GUILD, 600)
    others_before = await rig.privacy.export(OTHER_USER)

    interaction = await press(rig, "delete")
    interaction.response.edit_message.assert_awaited_once_with(
        content="🗑️ Done: everything Steady stored about you is deleted, "
        "and any web dashboard login of yours has ended.",
        view=None,
    )
    mine = await rig.privacy.export(USER)
    assert mine["settings"] is None
    assert mine["subscriptions"] == mine["snoozes"] == mine["deliveries"] == []
    assert await members.get(rig.db, USER) is None
    others_after = await rig.privacy.export(OTHER_USER)
    assert {**others_after, "exported_at": None} == {**others_before, "exported_at": None}
    # The server's settings are the admins', not the member's.
    assert await reminders.for_guild(rig.db, GUILD, "daily_tip") is not None
    assert await guild_settings.reminder_channel(rig.db, GUILD) == 600


async def test_a_reminder_button_after_deletion_says_it_is_gone(rig) -> None:
    delivery_id = await member_with_history(rig, USER)
    await press(rig, "delete")
    button = ReminderButton("done", delivery_id)
    interaction = make_interaction(client=rig.bot, custom_id=button.custom_id)
    await button.callback(interaction)
    assert sent(interaction)[0] == "This reminder is no longer on record."


async def test_keep_deletes_nothing(rig) -> None:
    await member_with_history(rig, USER)
    before = await snapshot(rig.db)
    interaction = await press(rig, "keep")
    interaction.response.edit_message.assert_awaited_once_with(
        content="Nothing was deleted.", view=None
    )
    assert await snapshot(rig.db) == before


@pytest.mark.parametrize("action", ["delete", "keep"])
async def test_someone_elses_button_is_refused(rig, action: str) -> None:
    """A forwarded or stale confirmation can't delete another member's data."""
    await member_with_history(rig, USER)
    before = await snapshot(rig.db)
    interaction = await press(rig, action, owner=USER, presser=OTHER_USER)
    assert sent(interaction)[0] == "This button belongs to someone else's request."
    interaction.response.edit_message.assert_not_awaited()
    assert await snapshot(rig.db) == before


@pytest.mark.parametrize("user_id", [1, USER, 2**64 - 1])
@pytest.mark.parametrize("action", ["delete", "keep"])
async def test_privacy_custom_id_round_trips_and_fits(action: str, user_id: int) -> None:
    button = PrivacyButton(action, user_id)
    assert len(button.custom_id) <= 100
    match = PrivacyButton.__discord_ui_compiled_template__.fullmatch(button.custom_id)
    assert match is not None
    restored = await PrivacyButton.from_custom_id(make_interaction(), button.item, match)
    assert (restored.action, restored.user_id, restored.custom_id) == (
        action,
        user_id,
        button.custom_id,
    )
