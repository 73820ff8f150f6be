"""Commands are synced to Discord only when the command tree actually changed."""

import discord
import pytest
from discord import app_commands

from bot.sync import sync_if_changed, tree_payload


class CountingTree(app_commands.CommandTree):
    """A real command tree whose sync records the call instead of calling Discord."""

    def __init__(self, client):
        super().__init__(client)
        self.synced: list[int | None] = []

    async def sync(self, *, guild=None):
        self.synced.append(guild.id if guild else None)
        return []


@pytest.fixture
def database_url(tmp_path) -> str:
    """One backend is enough here: a SQLite file (``db`` in tests/conftest.py opens it)."""
    return f"sqlite:///{tmp_path}/t.sqlite3"


def make_tree(description: str = "Say hello") -> CountingTree:
    tree = CountingTree(discord.Client(intents=discord.Intents.none()))

    @tree.command(name="hello", description=description)
    async def hello(interaction: discord.Interaction) -> None: ...

    return tree


async def test_first_start_syncs_and_a_restart_does_not(db):
    first = make_tree()
    assert await sync_if_changed(first, db, application_id=1, guild_id=None) is True
    restarted = make_tree()
    assert await sync_if_changed(restarted, db, application_id=1, guild_id=None) is False
    assert first.synced == [None] and restarted.synced == []


async def test_a_changed_command_syncs_again(db):
    await sync_if_changed(make_tree("Say hello"), db, application_id=1, guild_id=None)
    changed = make_tree("Say hello politely")
    assert await sync_if_changed(changed, db, application_id=1, guild_id=None) is True


async def test_dev_guild_and_global_are_tracked_separately(db):
    await sync_if_changed(make_tree(), db, application_id=1, guild_id=None)
    dev = make_tree()
    assert await sync_if_changed(dev, db, application_id=1, guild_id=42) is True
    assert dev.synced == [42]


async def test_another_application_syncs(db):
    await sync_if_changed(make_tree(), db, application_id=1, guild_id=None)
    assert await sync_if_changed(make_tree(), db, application_id=2, guild_id=None) is True


@pytest.mark.parametrize("guild_id", [None, 42])
async def test_the_hashed_payload_is_what_sync_sends(guild_id):
    """The hash stands for the body discord.py's sync sends, every command type included;
    if a discord.py upgrade sent something else, a changed command could go unsynced."""
    client = discord.Client(intents=discord.Intents.none(), application_id=1)
    tree = app_commands.CommandTree(client)
    guild = discord.Object(id=guild_id) if guild_id is not None else None

    @tree.command(name="hello", description="Say hello", guild=guild)
    async def hello(interaction: discord.Interaction) -> None: ...

    @tree.context_menu(name="Remind them", guild=guild)
    async def remind(interaction: discord.Interaction, user: discord.User) -> None: ...

    sent: list[list[dict]] = []

    async def capture(*args, payload):
        sent.append(payload)
        return []

    client.http.bulk_upsert_global_commands = capture
    client.http.bulk_upsert_guild_commands = capture
    await tree.sync(guild=guild)
    assert sent == [tree_payload(tree, guild)]
    assert {command["name"] for command in sent[0]} == {"hello", "Remind them"}
