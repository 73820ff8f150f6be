"""Settings come from the environment; a bad value ends start-up with one line naming it."""

import pytest

from bot.settings import DEFAULT_API_BASE, load_settings
from domain.errors import StartupError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in (
        "DISCORD_TOKEN",
        "DATABASE_URL",
        "DISCORD_API_BASE",
        "DISCORD_GATEWAY_URL",
        "DEV_GUILD_ID",
        "CONTENT_DIR",
        "LOG_LEVEL",
        "DASHBOARD_PORT",
        "DASHBOARD_URL",
        "DASHBOARD_SECRET",
        "DISCORD_CLIENT_ID",
        "DISCORD_CLIENT_SECRET",
        "DISCORD_AUTHORIZE_URL",
        "CLAIM_LEASE_S",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "abc.def.ghi")
    settings = load_settings()
    assert settings.database_url == "sqlite:///data/steady.sqlite3"
    assert settings.discord_api_base == DEFAULT_API_BASE
    assert not settings.api_base_is_custom
    assert settings.dev_guild_id is None
    assert settings.log_level == "INFO"


def test_token_is_never_printed(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "super-secret-token")
    settings = load_settings()
    assert "super-secret-token" not in repr(settings)
    assert "super-secret-token" not in str(settings.model_dump())


def test_missing_token_is_one_clear_line():
    with pytest.raises(StartupError, match="DISCORD_TOKEN is not set"):
        load_settings()


def test_blank_token_counts_as_missing(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "   ")
    with pytest.raises(StartupError, match="DISCORD_TOKEN is not set"):
        load_settings()


def test_bad_dev_guild_id_names_the_variable(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("DEV_GUILD_ID", "not-a-number")
    with pytest.raises(StartupError, match="DEV_GUILD_ID is invalid"):
        load_settings()


def test_claim_lease_is_30_s_unless_set_and_never_under_6(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    assert load_settings().claim_lease_s == 30
    monkeypatch.setenv("CLAIM_LEASE_S", "12")
    assert load_settings().claim_lease_s == 12
    monkeypatch.setenv("CLAIM_LEASE_S", "5")
    with pytest.raises(StartupError, match="CLAIM_LEASE_S is invalid"):
        load_settings()


def test_empty_optional_values_are_unset(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("DEV_GUILD_ID", "")
    monkeypatch.setenv("DISCORD_GATEWAY_URL", "")
    settings = load_settings()
    assert settings.dev_guild_id is None and settings.discord_gateway_url is None


def test_custom_api_base_loses_trailing_slash(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("DISCORD_API_BASE", "http://127.0.0.1:9999/api/v10/")
    settings = load_settings()
    assert settings.discord_api_base == "http://127.0.0.1:9999/api/v10"
    assert settings.api_base_is_custom


@pytest.mark.parametrize("base", ["notaurl", "ftp://example.com/api", "discord.com/api/v10"])
def test_an_api_base_that_is_not_an_http_url_is_one_line(monkeypatch, base):
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("DISCORD_API_BASE", base)
    with pytest.raises(StartupError, match="DISCORD_API_BASE is invalid.*http:// or https://"):
        load_settings()


def test_unknown_log_level_is_refused(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    with pytest.raises(StartupError, match="LOG_LEVEL is invalid"):
        load_settings()


def test_dashboard_is_off_by_default(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    settings = load_settings()
    assert settings.dashboard_port is None
    assert settings.discord_authorize_url == "https://discord.com/oauth2/authorize"


def test_dashboard_needs_a_secret(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("DASHBOARD_PORT", "8080")
    monkeypatch.setenv("DISCORD_CLIENT_SECRET", "cs")
    with pytest.raises(StartupError, match="DASHBOARD_SECRET is not set"):
        load_settings()
    monkeypatch.setenv("DASHBOARD_SECRET", "short")
    with pytest.raises(StartupError, match="DASHBOARD_SECRET is too short"):
        load_settings()


def test_dashboard_needs_the_client_secret(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("DASHBOARD_PORT", "8080")
    monkeypatch.setenv("DASHBOARD_SECRET", "s" * 40)
    with pytest.raises(StartupError, match="DISCORD_CLIENT_SECRET is not set"):
        load_settings()


def test_dashboard_settings(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("DASHBOARD_PORT", "8080")
    monkeypatch.setenv("DASHBOARD_SECRET", "s" * 40)
    monkeypatch.setenv("DISCORD_CLIENT_SECRET", "client-secret")
    monkeypatch.setenv("DASHBOARD_URL", "https://steady.example/")
    monkeypatch.setenv("DISCORD_CLIENT_ID", "")
    settings = load_settings()
    assert settings.dashboard_base_url == "https://steady.example"
    assert settings.discord_client_id is None  # the application's id, learnt at login
    assert "client-secret" in settings.secrets() and "s" * 40 in settings.secrets()
    assert "client-secret" not in repr(settings)
    monkeypatch.setenv("DASHBOARD_URL", "steady.example")
    with pytest.raises(StartupError, match="DASHBOARD_URL is invalid"):
        load_settings()
