"""Command sync, only when the command tree changed.

Discord rate-limits command syncs hard (a few hundred a day) and each sync makes every client
refetch the command list, so a restart must not re-sync. We store a hash of exactly the
payload that ``CommandTree.sync`` would send, per scope (global, or one dev guild), and sync
only when it differs.
"""

from __future__ import annotations

import hashlib
import json
import logging

import discord
from discord import app_commands

from storage import bot_state
from storage.database import Database

log = logging.getLogger(__name__)


def tree_payload(tree: app_commands.CommandTree, guild: discord.abc.Snowflake | None) -> list[dict]:
    """The body ``CommandTree.sync`` would send: every command type of the scope (``type``
    left unset), each as ``to_dict``. Steady has no translator, so nothing is translated;
    tests/unit/test_sync.py compares this with what ``sync`` actually sends."""
    return [command.to_dict(tree) for command in tree.get_commands(guild=guild)]


def payload_hash(payload: list[dict], application_id: int) -> str:
    canonical = json.dumps({"app": application_id, "commands": payload}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def scope_key(guild_id: int | None) -> str:
    return f"command_hash:{'global' if guild_id is None else f'guild:{guild_id}'}"


async def sync_if_changed(
    tree: app_commands.CommandTree, db: Database, application_id: int, guild_id: int | None
) -> bool:
    """Sync the commands for one scope if they changed since the last sync. Returns True if synced."""
    guild = discord.Object(id=guild_id) if guild_id is not None else None
    if guild is not None:
        # In development the global commands are copied to the dev guild so they appear at once.
        tree.copy_global_to(guild=guild)
    digest = payload_hash(tree_payload(tree, guild), application_id)
    key = scope_key(guild_id)
    if await bot_state.get(db, key) == digest:
        log.info("commands unchanged since the last sync; not syncing")
        return False
    synced = await tree.sync(guild=guild)
    await bot_state.put(db, key, digest)
    log.info(
        "synced %d commands %s",
        len(synced),
        "globally" if guild is None else f"to guild {guild_id}",
    )
    return True
