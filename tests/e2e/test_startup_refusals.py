"""`python -m bot` that cannot start ends with one clear line and a non-zero exit, no traceback."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]


async def start_bot(env_overrides: dict[str, str], limit_s: float = 30) -> tuple[int, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "DATABASE_", "DEV_", "CONTENT_"))
    }
    env.update(env_overrides)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), limit_s)
    return process.returncode, stderr.decode()


def last_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    return stderr.strip().splitlines()[-1]


async def test_missing_token(tmp_path):
    code, stderr = await start_bot({"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"})
    assert code == 2
    assert last_line(stderr) == (
        "steady: cannot start: DISCORD_TOKEN is not set: put your bot token in the environment (see README)."
    )


async def test_bad_database_url(tmp_path):
    code, stderr = await start_bot({"DISCORD_TOKEN": "x", "DATABASE_URL": "mysql://nope"})
    assert code == 2
    assert last_line(stderr).startswith(
        "steady: cannot start: DATABASE_URL: unsupported scheme 'mysql'"
    )


def only_line(stderr: str) -> str:
    """The refusal, the one line on stderr: no log record, no traceback after it."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    "where, expected",
    [
        (
            "folder",
            "DATABASE_URL: {tmp} is a folder; name a file in it, like sqlite:///{tmp}/steady.sqlite3",
        ),
        ("under a file", "DATABASE_URL: {tmp}/notes.txt is a file, not a folder"),
        (
            "unwritable folder",
            "DATABASE_URL: cannot open /proc/steady.sqlite3 (unable to open database file); is its folder writable?",
        ),
        (
            "folder that cannot be made",
            "DATABASE_URL: cannot create folder /proc/steady: No such file or directory",
        ),
    ],
)
async def test_sqlite_path_that_cannot_be_a_database_is_one_line(tmp_path, where, expected):
    """Once, a failed open left aiosqlite's thread to print "Event loop is closed" after it."""
    (tmp_path / "notes.txt").write_text("not a folder")
    path = {
        "folder": f"{tmp_path}",
        "under a file": f"{tmp_path}/notes.txt/steady.sqlite3",
        "unwritable folder": "/proc/steady.sqlite3",  # not even root may create files there
        "folder that cannot be made": "/proc/steady/steady.sqlite3",
    }[where]
    code, stderr = await start_bot({"DISCORD_TOKEN": "x", "DATABASE_URL": f"sqlite:///{path}"})
    assert code == 2
    assert only_line(stderr) == "steady: cannot start: " + expected.format(tmp=tmp_path)


@pytest.mark.parametrize(
    "problem, expected",
    [
        (
            "wrong password",
            "DATABASE_URL: PostgreSQL refused the password for steady_test@127.0.0.1",
        ),
        ("unreachable", "DATABASE_URL: cannot reach PostgreSQL at steady_test@127.0.0.1:1/"),
        ("malformed", "DATABASE_URL: the port must be a number"),
        ("not a URL", "DATABASE_URL: not a valid URL"),
    ],
)
async def test_postgresql_that_cannot_be_used_is_one_line_without_the_password(
    postgres_server, problem, expected
):
    url = {
        "wrong password": postgres_server.url(password="Wr0ng-S3cret"),
        "unreachable": postgres_server.url().replace(f":{postgres_server.port}/", ":1/"),
        "malformed": postgres_server.url().replace(f":{postgres_server.port}/", ":port/"),
        "not a URL": postgres_server.url().replace("@127.0.0.1", "@[127.0.0.1"),
    }[problem]
    code, stderr = await start_bot({"DISCORD_TOKEN": "x", "DATABASE_URL": url})
    assert code == 2
    assert last_line(stderr).startswith(f"steady: cannot start: {expected}")
    assert len(stderr.strip().splitlines()) == 1, stderr  # only that line
    assert postgres_server.password not in stderr and "Wr0ng-S3cret" not in stderr


async def test_broken_content_names_file_and_entry(tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    for source in (ROOT / "content").glob("*.yaml"):
        (content / source.name).write_text(source.read_text("utf-8"), "utf-8")
    nutrients = content / "nutrients.yaml"
    nutrients.write_text(nutrients.read_text("utf-8") + "\n  - : [unbalanced\n", "utf-8")
    code, stderr = await start_bot(
        {
            "DISCORD_TOKEN": "x",
            "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
            "CONTENT_DIR": str(content),
        }
    )
    assert code == 2
    assert last_line(stderr).startswith("steady: cannot start: ")
    assert "nutrients.yaml" in last_line(stderr)


@pytest.fixture
async def discord_that_rejects_the_token():
    """A stand-in REST endpoint on loopback that answers every request like Discord does to a bad token."""

    async def unauthorized(request: web.Request) -> web.Response:
        return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", unauthorized)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/api/v10"
    await runner.cleanup()


async def test_rejected_token(tmp_path, discord_that_rejects_the_token):
    code, stderr = await start_bot(
        {
            "DISCORD_TOKEN": "definitely-wrong-token",
            "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
            "DISCORD_API_BASE": discord_that_rejects_the_token,
        }
    )
    assert code == 2
    assert "DISCORD_TOKEN was rejected by Discord (401 Unauthorized)" in last_line(stderr)
    assert "definitely-wrong-token" not in stderr


async def test_unreachable_discord(tmp_path):
    code, stderr = await start_bot(
        {
            "DISCORD_TOKEN": "x",
            "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
            "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10",  # the discard port: nothing listens
        }
    )
    assert code == 2
    assert last_line(stderr).startswith(
        "steady: cannot start: cannot reach Discord at http://127.0.0.1:9/api/v10"
    )


def test_refusals_at_start_are_one_line():
    """What Discord refuses while the bot starts (e.g. the command sync) is named, not traced."""
    from types import SimpleNamespace

    import discord

    from bot.__main__ import startup_refusal

    def refused(cls, status: int, message: str):
        response = SimpleNamespace(status=status, reason="x")
        return cls(response, {"code": 50035 if status == 400 else 50001, "message": message})

    assert startup_refusal(refused(discord.DiscordServerError, 503, "down"), None).startswith(
        "Discord answered 503 during start-up"
    )
    assert "applications.commands scope" in startup_refusal(
        refused(discord.Forbidden, 403, "Missing Access"), 42
    )
    line = startup_refusal(refused(discord.HTTPException, 400, "Invalid Form Body"), None)
    assert line == "Discord refused a start-up request (400, code 50035): Invalid Form Body"
