"""Every extension loads, no command name clashes, and every command fits Discord's rules."""

import re

import pytest
from discord import app_commands

from bot.settings import Settings
from bot.steady_bot import EXTENSIONS, SteadyBot
from cogs.tree import SteadyTree
from content import load_content
from storage.database import Database

NAME = re.compile(r"^[-_\w]{1,32}$")


@pytest.fixture
async def bot(tmp_path):
    db = await Database.open(f"sqlite:///{tmp_path}/t.sqlite3")
    await db.migrate()
    steady = SteadyBot(settings=Settings(discord_token="x"), db=db, content=load_content())
    for extension in EXTENSIONS:
        await steady.load_extension(extension)
    yield steady
    await db.close()


def walk(payload: dict, path: str = ""):
    yield path + payload["name"], payload
    for option in payload.get("options", []):
        if option["type"] in (1, 2):  # subcommand, subcommand group
            yield from walk(option, path + payload["name"] + " ")


async def test_all_extensions_load_with_unique_top_level_names(bot):
    names = [command.name for command in bot.tree.get_commands()]
    assert len(names) == len(set(names))
    expected = {
        "nutrient",
        "foods",
        "food",
        "compare",
        "causes",
        "tips",
        "see-a-doctor",
        "about",
        "help",
    }
    assert expected | {"remind", "privacy", "config"} <= set(names)


async def test_every_command_payload_is_within_discord_rules(bot):
    for command in bot.tree.get_commands():
        payload = command.to_dict(bot.tree)
        for path, item in walk(payload):
            assert NAME.match(item["name"]) and item["name"] == item["name"].lower(), path
            assert 1 <= len(item["description"]) <= 100, path
            options = item.get("options", [])
            assert len(options) <= 25, path
            leaf = [o for o in options if o["type"] not in (1, 2)]
            required = [o.get("required", False) for o in leaf]
            assert required == sorted(required, reverse=True), f"{path}: required options first"
            for option in leaf:
                assert NAME.match(option["name"]), path
                assert 1 <= len(option["description"]) <= 100, f"{path} {option['name']}"
                assert not (option.get("autocomplete") and option.get("choices")), path
                assert len(option.get("choices", [])) <= 25, path


async def test_config_is_for_server_managers_only(bot):
    config = bot.tree.get_command("config")
    payload = config.to_dict(bot.tree)
    assert int(payload["default_member_permissions"]) == 1 << 5  # MANAGE_GUILD
    assert payload["contexts"] == [0]  # servers only


async def test_fact_and_reminder_commands_work_in_dms(bot):
    for name in ("nutrient", "help", "remind", "privacy"):
        payload = bot.tree.get_command(name).to_dict(bot.tree)
        assert set(payload["contexts"]) >= {0, 1}, name


async def test_buttons_survive_restarts_as_dynamic_items(bot):
    from cogs.privacy import PrivacyButton
    from cogs.reminders import ReminderButton

    registered = set(bot._connection._view_store._dynamic_items.values())
    assert {ReminderButton, PrivacyButton} <= registered


async def test_the_tree_answers_command_errors_itself(bot):
    """Without Steady's tree, a command's error would reach no one (discord.py only logs it)."""
    assert type(bot.tree) is SteadyTree
    assert type(bot.tree).on_error is not app_commands.CommandTree.on_error
