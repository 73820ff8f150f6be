"""Logging set-up: one readable line per record on stderr, and no secret ever printed."""

from __future__ import annotations

import logging
import sys

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class RedactSecrets(logging.Filter):
    """Replace any known secret (the bot token) in a record's final text with ``[redacted]``.

    Nothing in Steady logs the token on purpose; this guards against a library or an
    exception message echoing it back (e.g. a URL or header in an error).
    """

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        if any(secret in message for secret in self._secrets):
            for secret in self._secrets:
                message = message.replace(secret, "[redacted]")
            record.msg, record.args = message, None
        return True


def configure_logging(
    level: str = "INFO", secrets: list[str] | None = None, *, tag: str | None = None
) -> None:
    """``tag`` names the process in every line (its shards), for logs merged from several."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(_FORMAT.replace("%(name)s", f"[{tag}] %(name)s") if tag else _FORMAT)
    )
    handler.addFilter(RedactSecrets(secrets or []))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # discord.py's gateway chatter is useful at DEBUG only.
    logging.getLogger("discord").setLevel(max(logging.getLevelName(level), logging.INFO))
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    # The dashboard's OAuth2 client logs every request URL at INFO; those are not news.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    # While PostgreSQL restarts, asyncpg's pool logs a traceback per reconnect attempt; the
    # bot says it once in its own words ("database unavailable …").
    logging.getLogger("asyncpg").setLevel(logging.ERROR)
