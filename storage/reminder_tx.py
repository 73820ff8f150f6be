"""Serialised writes for the reminder tables on the bot's one shared connection.

``Database`` runs in autocommit mode on a single aiosqlite connection shared by every
coroutine. An explicit ``BEGIN IMMEDIATE … COMMIT`` on that connection would otherwise
swallow whatever statement another coroutine runs meanwhile (and roll it back with ours on
error), and a second ``BEGIN`` would fail outright. So every reminder write, one statement
or many, goes through :func:`write` / :func:`transaction`, which hold one lock per database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from weakref import WeakKeyDictionary

import aiosqlite

from storage.database import Database

_locks: WeakKeyDictionary[Database, asyncio.Lock] = WeakKeyDictionary()


def lock_for(db: Database) -> asyncio.Lock:
    lock = _locks.get(db)
    if lock is None:
        lock = _locks[db] = asyncio.Lock()
    return lock


@asynccontextmanager
async def transaction(db: Database) -> AsyncIterator[aiosqlite.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any error), serialised per database."""
    async with lock_for(db):
        await db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db.conn
        except BaseException:
            await db.conn.execute("ROLLBACK")
            raise
        await db.conn.execute("COMMIT")


@asynccontextmanager
async def write(db: Database) -> AsyncIterator[aiosqlite.Connection]:
    """A single autocommit statement, kept out of any transaction another coroutine holds."""
    async with lock_for(db):
        yield db.conn
