"""Privacy: a member sees, and erases, everything Steady stores about them."""

from __future__ import annotations

import json

from testkit.bot_process import BotProcess
from testkit.emulator import Driver
from testkit.emulator.state import User
from tests.e2e.conftest import Server
from tests.e2e.reminder_helpers import DONE, button_ids, reminders_for

DELETE, KEEP = "steady:privacy:delete", "steady:privacy:keep"


async def subscribe(driver: Driver, server: Server, member: User) -> None:
    """A member with settings, a subscription and a delivery record (a test reminder)."""
    await driver.slash("remind timezone", user=member, guild=server.guild, zone="berlin")
    await driver.slash(
        "remind start", user=member, guild=server.guild, kind="stretching", time="21:30"
    )
    await driver.slash("remind test", user=member, guild=server.guild, kind="stretching")
    assert len(reminders_for(driver, member)) == 1


async def test_export_answers_privately_with_a_file(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    """`/privacy export` in #general: only the member sees the answer, nothing is public.
    (What the attached file holds is checked below, once the emulator keeps uploads.)"""
    member = server.member
    await subscribe(driver, server, member)
    reply = await driver.slash("privacy export", user=member, guild=server.guild)
    assert reply.ephemeral and "everything Steady stores about you" in reply.text
    assert driver.messages_in(server.general) == []


async def test_export_file_is_json_of_the_members_settings_subscriptions_and_deliveries(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    """The file attached to the `/privacy export` answer is `steady-data-<id>.json` with the
    member's id, time zone, stretching subscription and the test reminder's delivery record —
    ids and settings only, no message content."""
    member = server.member
    await subscribe(driver, server, member)
    reply = await driver.slash("privacy export", user=member, guild=server.guild)

    attachments = getattr(reply.message, "attachments", None) or []
    assert [a.filename for a in attachments] == [f"steady-data-{member.id}.json"]
    data = json.loads(attachments[0].data)
    assert data["user_id"] == str(member.id)
    assert data["settings"]["timezone"] == "Europe/Berlin"
    assert [s["kind"] for s in data["subscriptions"]] == ["stretching"]
    assert [d["source"] for d in data["deliveries"]] == ["test"]
    assert "Time to stretch" not in json.dumps(data), "no message content is stored"


async def test_delete_asks_first_keep_changes_nothing_and_delete_erases_everything(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    """`/privacy delete` asks, privately, with "Delete everything" and "Keep my data".

    Keep: nothing changes. Asked again and confirmed: the question is replaced by the
    confirmation (no buttons left to press), `/remind list` shows no reminders and no time
    zone, and the Done button on an old reminder says it is no longer on record.
    """
    member, guild = server.member, server.guild
    await subscribe(driver, server, member)
    before = (await driver.slash("remind list", user=member, guild=guild)).text

    ask = await driver.slash("privacy delete", user=member, guild=guild)
    assert ask.ephemeral and "can't be undone" in ask.text
    assert [b["label"] for b in ask.buttons] == ["Delete everything", "Keep my data"]
    kept = await driver.click(ask.message, f"{KEEP}:{member.id}", user=member)
    assert "Nothing was deleted" in kept.text and kept.buttons == []
    assert (await driver.slash("remind list", user=member, guild=guild)).text == before

    ask = await driver.slash("privacy delete", user=member, guild=guild)
    deleted = await driver.click(ask.message, f"{DELETE}:{member.id}", user=member)
    assert "everything Steady stored about you is deleted" in deleted.text
    assert deleted.buttons == []

    listing = await driver.slash("remind list", user=member, guild=guild)
    assert "You have no reminders yet" in listing.text and "not set" in listing.text
    [old] = reminders_for(driver, member)
    done = await driver.click(old, button_ids(old)[DONE], user=member)
    assert done.ephemeral and "no longer on record" in done.text
    assert driver.messages_in(server.general) == []
