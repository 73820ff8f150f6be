"""``python -m bot``: start Steady, or end with one clear line saying why it cannot start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

import aiohttp
import discord

from bot import __version__, gateway
from bot.backup import POSTGRES_LINE, run_scheduled
from bot.logs import configure_logging
from bot.settings import Settings, load_settings
from bot.sharded_bot import make_bot
from bot.shards import ShardPlan, gateway_refusal
from content import load_content
from domain.errors import StartupError
from storage.backup import RunLock
from storage.database import Database
from storage.sqlite import sqlite_path_from_url

log = logging.getLogger("bot")


def startup_refusal(error: discord.HTTPException, dev_guild_id: int | None) -> str:
    """One line for a request Discord refused while the bot was starting."""
    if error.status >= 500:
        return f"Discord answered {error.status} during start-up; try again in a minute."
    if isinstance(error, discord.Forbidden) and dev_guild_id is not None:
        return (
            f"DEV_GUILD_ID: Discord won't let the bot register commands in server {dev_guild_id}; "
            "invite it there with the applications.commands scope."
        )
    detail = (error.text or "").splitlines()[0][:200] if error.text else ""
    return f"Discord refused a start-up request ({error.status}, code {error.code}): {detail}"


async def run() -> None:
    settings = load_settings()
    token = settings.discord_token.get_secret_value().strip()
    plan = settings.shard_plan
    configure_logging(
        settings.log_level, secrets=settings.secrets(), tag=plan.label if plan else None
    )
    gateway.point_rest_at(settings.discord_api_base)

    # One bot per SQLite file, and none while `restore` replaces it: held until the process
    # ends (the kernel drops it on kill -9 too).
    database_file = _sqlite_file(settings.database_url)
    run_lock = RunLock(database_file) if database_file else None
    try:
        locked = run_lock is None or run_lock.try_acquire()
    except OSError:  # an unusable folder: opening the database says what is wrong with it
        run_lock, locked = None, True
    if not locked and run_lock is not None:
        raise StartupError(
            f"DATABASE_URL: another Steady process (or a restore) is using {database_file}; "
            f"it holds {run_lock.path.name}"
        )
    try:
        await _run(settings, token, plan, database_file)
    finally:
        if run_lock is not None:
            run_lock.release()


def _sqlite_file(url: str) -> Path | None:
    """The SQLite file of ``DATABASE_URL``, or ``None`` (PostgreSQL, in memory, malformed:
    opening the database says what is wrong with it)."""
    if not url.startswith("sqlite://"):
        return None
    try:
        path = sqlite_path_from_url(url)
    except StartupError:
        return None
    return path if isinstance(path, Path) and not path.is_dir() else None


def _scheduled_backups(
    settings: Settings, db: Database, database_file: Path | None
) -> asyncio.Task[None] | None:
    if settings.backup_dir is None:
        return None
    if database_file is None:
        log.warning("BACKUP_DIR is set but backups are taken only of SQLite; %s", POSTGRES_LINE)
        return None
    log.info(
        "scheduled backups: every %g h into %s, the newest %d kept",
        settings.backup_every_hours,
        settings.backup_dir,
        settings.backup_keep,
    )
    return asyncio.create_task(
        run_scheduled(
            db,
            database_file,
            settings.backup_dir,
            settings.backup_every_hours,
            settings.backup_keep,
        ),
        name="steady-backups",
    )


async def _run(
    settings: Settings, token: str, plan: ShardPlan | None, database_file: Path | None
) -> None:
    # Logged once the database is open: a database that cannot be used is one line on stderr.
    db = await Database.open(settings.database_url, warm=True)
    log.info("Steady %s starting", __version__)
    backups: asyncio.Task[None] | None = None
    try:
        await db.migrate()
        backups = _scheduled_backups(settings, db, database_file)
        content = load_content(settings.content_dir)
        bot = make_bot(settings=settings, db=db, content=content)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            # Closing the bot ends bot.start(); in-flight work finishes in bot.close().
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(bot.close()))
        try:
            async with bot:
                await bot.start(token)
        except discord.LoginFailure:
            raise StartupError(
                "DISCORD_TOKEN was rejected by Discord (401 Unauthorized): "
                "copy the token again from the Developer Portal's Bot page."
            ) from None
        except discord.PrivilegedIntentsRequired:
            raise StartupError("Discord refused the requested intents.") from None
        except (aiohttp.ClientConnectionError, discord.GatewayNotFound, TimeoutError) as error:
            raise StartupError(
                f"cannot reach Discord at {settings.discord_api_base}: {error.__class__.__name__}"
            ) from None
        except discord.HTTPException as error:
            raise StartupError(startup_refusal(error, settings.dev_guild_id)) from None
        except discord.ConnectionClosed as error:  # a close code discord.py does not retry
            raise StartupError(gateway_refusal(error.code, plan)) from None
    finally:
        if backups is not None:
            backups.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await backups
        await db.close()
    log.info("Steady stopped cleanly")


def main() -> int:
    # Until the settings are read (and LOG_LEVEL checked), log at INFO so early problems show.
    configure_logging("INFO")
    if sys.argv[1:2] == ["migrate-db"]:
        from bot import migrate_db

        return migrate_db.main(sys.argv[2:])
    if sys.argv[1:2] in (["backup"], ["restore"]):
        from bot import backup

        return backup.main(sys.argv[1], sys.argv[2:])
    if sys.argv[1:2] == ["capacity"]:
        from bot import capacity

        return capacity.main(sys.argv[2:])
    # The dashboard as a web process of its own (several replicas, on PostgreSQL).
    entry = run
    if sys.argv[1:2] == ["dashboard"]:
        from bot import web_process

        entry = web_process.run
    try:
        asyncio.run(entry())
    except StartupError as error:
        print(f"steady: cannot start: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
