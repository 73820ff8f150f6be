"""``python -m bot``: start Steady, or end with one clear line saying why it cannot start."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import aiohttp
import discord

from bot import __version__, gateway
from bot.logs import configure_logging
from bot.settings import load_settings
from bot.sharded_bot import make_bot
from bot.shards import gateway_refusal
from content import load_content
from domain.errors import StartupError
from storage.database import Database

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

    # Logged once the database is open: a database that cannot be used is one line on stderr.
    db = await Database.open(settings.database_url, warm=True)
    log.info("Steady %s starting", __version__)
    try:
        await db.migrate()
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
        await db.close()
    log.info("Steady stopped cleanly")


def main() -> int:
    # Until the settings are read (and LOG_LEVEL checked), log at INFO so early problems show.
    configure_logging("INFO")
    if sys.argv[1:2] == ["migrate-db"]:
        from bot import migrate_db

        return migrate_db.main(sys.argv[2:])
    try:
        asyncio.run(run())
    except StartupError as error:
        print(f"steady: cannot start: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
