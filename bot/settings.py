"""Settings read from the environment (the README's Environment table).

pydantic-settings gives typed values, a ``SecretStr`` token that never prints, and one
clear validation error per bad variable; a hand-written ``os.environ`` parser would have to
re-invent all three.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot import shards
from domain.errors import StartupError

DEFAULT_API_BASE = "https://discord.com/api/v10"
DEFAULT_AUTHORIZE_URL = "https://discord.com/oauth2/authorize"
#: Shortest DASHBOARD_SECRET accepted: it signs every session cookie.
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    discord_token: SecretStr = Field(default=SecretStr(""))
    database_url: str = "sqlite:///data/steady.sqlite3"
    discord_api_base: str = DEFAULT_API_BASE
    discord_gateway_url: str | None = None
    dev_guild_id: int | None = None
    content_dir: Path | None = None
    log_level: str = "INFO"
    # REST requests per second for the whole bot: every request but interaction answers goes
    # through one limiter at this pace (services/ratelimit.py). Discord allows 50/s per token; see
    # the README ("Rate limits") for why 49.
    send_rate_per_s: float = Field(default=49.0, gt=0)
    send_workers: int = Field(default=8, ge=1, le=64)
    # On PostgreSQL, how long the reminders claimed by a process that died (kill -9, OOM) wait
    # before another process sends them; the owner renews every third of it, so a process
    # frozen longer than that (a stalled VM, a lost network) has its claims taken over.
    claim_lease_s: int = Field(default=30, ge=6, le=3600)
    # Sharding (bot/shards.py). Unset: one gateway connection, exactly as before.
    shard_count: int | None = Field(default=None, ge=1, le=shards.MAX_SHARD_COUNT)
    # "0,1" or "0-3"; unset with SHARD_COUNT set = every shard in this process. NoDecode:
    # pydantic-settings would otherwise try to read the text as JSON.
    shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = None
    # GET /healthz and /metrics (bot/health.py) on this port when set; all interfaces by
    # default so an orchestrator or Prometheus outside the container can reach them.
    health_port: int | None = Field(default=None, ge=1, le=65535)
    health_host: str = "0.0.0.0"
    # The web dashboard (bot/dashboard) is served only when DASHBOARD_PORT is set.
    dashboard_port: int | None = Field(default=None, ge=1, le=65535)
    # Where it listens; 0.0.0.0 in a container, loopback behind a reverse proxy.
    dashboard_host: str = "127.0.0.1"
    # The public base URL members open (Discord redirects back to {DASHBOARD_URL}/callback).
    dashboard_url: str | None = None
    dashboard_secret: SecretStr = Field(default=SecretStr(""))
    discord_client_id: int | None = None  # None: the bot's application id
    discord_client_secret: SecretStr = Field(default=SecretStr(""))
    discord_authorize_url: str = DEFAULT_AUTHORIZE_URL
    # Scheduled backups of the SQLite database (bot/backup.py), off unless BACKUP_DIR is set:
    # one every BACKUP_EVERY_HOURS into that folder, the newest BACKUP_KEEP kept.
    backup_dir: Path | None = None
    backup_every_hours: float = Field(default=24.0, gt=0)
    backup_keep: int = Field(default=7, ge=1, le=10_000)
    # The dashboard as its own process (python -m bot dashboard): how long what Discord said
    # about a server (a member's roles, the server's roles and channels) is trusted. A member
    # who loses Manage Server loses the page within it (services/guild_facts.py).
    dashboard_facts_ttl_s: float = Field(default=30.0, ge=1, le=300)

    @field_validator("discord_api_base", "dashboard_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("discord_api_base", "dashboard_url", "discord_authorize_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator(
        "dev_guild_id",
        "discord_gateway_url",
        "content_dir",
        "dashboard_url",
        "backup_dir",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator(
        "shard_count", "health_port", "dashboard_port", "discord_client_id", mode="before"
    )
    @classmethod
    def _empty_number_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _parse_shard_ids(cls, value: object, info: ValidationInfo) -> object:
        if value == "":
            return None
        if not isinstance(value, str):
            return value
        count = info.data.get("shard_count")
        if count is None:
            raise ValueError("needs SHARD_COUNT, the total number of shards of the bot")
        return shards.parse_shard_ids(value, count)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @property
    def shard_plan(self) -> shards.ShardPlan | None:
        return shards.ShardPlan.from_settings(self.shard_count, self.shard_ids)

    @property
    def api_base_is_custom(self) -> bool:
        return self.discord_api_base != DEFAULT_API_BASE

    @property
    def dashboard_base_url(self) -> str:
        """DASHBOARD_URL, or the local address when it is unset (a dashboard on one machine)."""
        return self.dashboard_url or f"http://localhost:{self.dashboard_port}"

    def secrets(self) -> list[str]:
        """Every secret value, for the log filter that redacts them."""
        return [
            s.get_secret_value().strip()
            for s in (self.discord_token, self.dashboard_secret, self.discord_client_secret)
        ]


def _check_dashboard(settings: Settings) -> None:
    """With DASHBOARD_PORT set, what the dashboard cannot run without."""
    if settings.dashboard_port is None:
        return
    secret = settings.dashboard_secret.get_secret_value().strip()
    if not secret:
        raise StartupError(
            "DASHBOARD_SECRET is not set: the dashboard needs it to sign sessions "
            '(e.g. python -c "import secrets; print(secrets.token_urlsafe(48))").'
        )
    if len(secret) < MIN_SECRET_LENGTH:
        raise StartupError(
            f"DASHBOARD_SECRET is too short: use at least {MIN_SECRET_LENGTH} random characters."
        )
    if not settings.discord_client_secret.get_secret_value().strip():
        raise StartupError(
            "DISCORD_CLIENT_SECRET is not set: copy it from the Developer Portal's OAuth2 page "
            "(the dashboard's Discord login needs it)."
        )


def read_settings() -> Settings:
    """Read the environment, or raise :class:`StartupError` with one line naming the setting
    that is wrong. What the tools that need no token use (``capacity``, ``migrate-db``)."""
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise StartupError(f"{name} is invalid: {first['msg']}") from None


def load_settings() -> Settings:
    """The bot's settings (:func:`read_settings`), with a token and a sound dashboard."""
    settings = read_settings()
    if not settings.discord_token.get_secret_value().strip():
        raise StartupError(
            "DISCORD_TOKEN is not set: put your bot token in the environment (see README)."
        )
    _check_dashboard(settings)
    return settings
