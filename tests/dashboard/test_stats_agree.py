"""``/remind stats`` and the dashboard's history page count the same ledger rows alike.

One set of rows — with the cases where two day rules would disagree: a Done pressed after
midnight, a test send, a reminder on the first and one just before the 30-day window, one
that failed — goes through both front-ends; the cog's embed, the page's totals table and the
sum of the page's chart give the same numbers (:mod:`services.stats` has the rule).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cogs.reminders import Reminders
from domain.enums import DeliveryState, Outcome, Reason, Source
from domain.kinds import label_of
from storage import ledger
from storage.ledger import Claimant, NewDelivery
from tests.cogs.fakes import CONTENT, FakeBot, make_interaction, sent
from tests.dashboard.rig import log_in, post
from tests.reminder_rig import T0

BERLIN = ZoneInfo("Europe/Berlin")
TODAY = T0.astimezone(BERLIN).date()  # Monday 3 June 2024, 12:00 in Berlin


def at(days_ago: int, hour: int, minute: int = 0) -> int:
    """A local Berlin time ``days_ago`` days before today, as a stored timestamp."""
    day = TODAY - timedelta(days=days_ago)
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN).timestamp())


async def record(
    db,
    user_id: int,
    kind: str,
    scheduled_at: int,
    *,
    outcome: str | None = None,
    outcome_at: int | None = None,
    source: str = Source.SCHEDULE,
    failed: bool = False,
) -> None:
    new = NewDelivery(
        nonce=ledger.nonce_for_test_send(user_id, scheduled_at, kind + source),
        source=source,
        subscription_id=None,
        scheduled_at=scheduled_at,
        kind=kind,
        user_id=user_id,
        guild_id=None,
    )
    delivery = await ledger.claim_new(db, new, scheduled_at, Claimant())
    assert delivery is not None
    if failed:
        await ledger.mark_final(
            db, delivery.id, DeliveryState.FAILED, Reason.DMS_CLOSED, scheduled_at
        )
        return
    await ledger.mark_sent(db, delivery.id, 1, 10_000 + delivery.id, "dm", scheduled_at)
    if outcome is not None:
        await ledger.set_outcome(db, delivery.id, outcome, outcome_at or scheduled_at + 60)


async def history_rows(db, user_id: int) -> None:
    for days_ago in range(4):  # Done four days running, today included
        await record(db, user_id, "hydration", at(days_ago, 9), outcome=Outcome.DONE)
    await record(db, user_id, "hydration", at(5, 9), outcome=Outcome.SNOOZED)
    await record(db, user_id, "hydration", at(6, 9))  # sent, no response
    await record(db, user_id, "hydration", at(29, 9), outcome=Outcome.DONE)  # first day shown
    # 30 days and 1 hour ago: within "30 × 24 h", but on a day before the 30 shown
    await record(db, user_id, "hydration", at(30, 13), outcome=Outcome.DONE)
    await record(db, user_id, "hydration", at(0, 11), source=Source.TEST, outcome=Outcome.DONE)
    await record(db, user_id, "stretching", at(2, 15), failed=True)
    # Sleep wind-down three evenings running, the last two Done after midnight: each counts on
    # the evening it was for, so the streak is three days, up to yesterday.
    await record(db, user_id, "sleep", at(3, 20), outcome=Outcome.DONE)
    for days_ago in (2, 1):
        await record(
            db,
            user_id,
            "sleep",
            at(days_ago, 23, 45),
            outcome=Outcome.DONE,
            outcome_at=at(days_ago - 1, 0, 10),
        )


EXPECTED = {  # kind: (sent, done, snoozed, streak)
    "hydration": (7, 5, 1, 4),
    "stretching": (0, 0, 0, 0),
    "sleep": (3, 3, 0, 3),
    "caffeine": (0, 0, 0, 0),
}


async def test_the_command_and_the_page_give_the_same_numbers(
    client, emulator, alice, services, db
):
    await log_in(client, emulator, alice)
    assert (await post(client, "/settings/timezone", {"zone": "Europe/Berlin"})).status == 303
    await history_rows(db, alice.id)

    # /remind stats, rendered by the cog
    bot = FakeBot(
        db,
        CONTENT,
        services.member_settings,
        services.subscriptions,
        services.buttons,
        services.stats,
        services.privacy,
        services.guild_config,
    )
    interaction = make_interaction(client=bot, user_id=alice.id)
    await Reminders.stats.callback(Reminders(bot), interaction)
    embed = sent(interaction)[1]["embed"]
    in_discord = {}
    for f in embed.fields:
        numbers = [int(n) for n in re.findall(r"\d+", f.value)]
        in_discord[f.name] = tuple(numbers)

    # the history page: its totals table, and its chart
    html = await (await client.get("/history")).text()
    on_the_page = {
        name: tuple(int(n) for n in cells)
        for name, *cells in re.findall(
            r'<th scope="row">([^<]+)</th><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>'
            r"<td>(\d+) days?</td>",
            html,
        )
    }
    chart = {
        what: sum(int(n) for n in re.findall(rf": (\d+) {what}</title>", html))
        for what in ("done", "snoozed", "sent, no response")
    }

    expected = {label_of(kind): numbers for kind, numbers in EXPECTED.items()}
    assert in_discord == expected
    assert on_the_page == expected
    sent_total, done_total, snoozed_total = (sum(n[i] for n in EXPECTED.values()) for i in range(3))
    assert chart == {
        "done": done_total,
        "snoozed": snoozed_total,
        "sent, no response": sent_total - done_total - snoozed_total,
    }


async def test_a_reminder_skipped_for_capacity_shows_in_both_as_the_bots_not_the_members(
    client, emulator, alice, services, db
):
    await log_in(client, emulator, alice)
    assert (await post(client, "/settings/timezone", {"zone": "Europe/Berlin"})).status == 303
    await record(db, alice.id, "sleep", at(1, 22, 30), outcome=Outcome.DONE)
    new = NewDelivery(
        nonce="s1.busy", source=Source.SCHEDULE, subscription_id=None,
        scheduled_at=at(0, 9), kind="sleep", user_id=alice.id, guild_id=None,
    )  # fmt: skip
    skipped = await ledger.claim_new(db, new, at(0, 9), Claimant())
    assert skipped is not None
    await ledger.mark_final(db, skipped.id, DeliveryState.MISSED, Reason.TOO_BUSY, at(0, 10))

    bot = FakeBot(
        db, CONTENT, services.member_settings, services.subscriptions, services.buttons,
        services.stats, services.privacy, services.guild_config,
    )  # fmt: skip
    interaction = make_interaction(client=bot, user_id=alice.id)
    await Reminders.stats.callback(Reminders(bot), interaction)
    fields = {f.name: f.value for f in sent(interaction)[1]["embed"].fields}
    assert fields[label_of("sleep")] == (
        "Sent 1 · Done 1 · Snoozed 0\nStreak: 1 day\nSkipped: too busy: 1"
    )
    html = await (await client.get("/history")).text()
    assert "skipped: too busy — 1 reminder:" in html
    assert "Not counted against you." in html
