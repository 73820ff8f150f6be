"""Bodies are checked like Discord checks them: the OpenAPI spec plus the documented limits.

Valid bodies, built by discord.py's own serialisers, must pass; each documented limit must
be refused with Discord's 400 ``{code: 50035, errors}`` shape and recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from testkit.emulator import Driver, Emulator, validation
from tests.emulator_tests.tiny_bot import TinyBot


@pytest.fixture
async def http(emulator: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bot {emulator.world.token}"}
    async with aiohttp.ClientSession(emulator.api_base + "/", headers=headers) as session:
        yield session


def _message_body(**kwargs: Any) -> dict[str, Any]:
    params = discord.http.handle_message_parameters(**kwargs)
    return params.payload


def _view() -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label="Done", custom_id="reminder:done:1"))
    view.add_item(discord.ui.Button(label="Read more", url="https://ods.od.nih.gov/"))
    return view


async def test_discord_py_message_bodies_are_valid() -> None:
    embed = discord.Embed(title="Magnesium", description="Relaxes muscles", colour=0x2F9E44)
    embed.add_field(name="Daily intake", value="400 mg", inline=False)
    embed.set_footer(text="Not medical advice")
    body = _message_body(
        content="hello",
        embed=embed,
        view=_view(),
        nonce="reminder:123:2026-01-01",
        allowed_mentions=discord.AllowedMentions(users=[discord.Object(1)]),
    )
    assert body["enforce_nonce"] is True
    assert validation.create_message(body) == []
    assert (
        validation.execute_webhook(
            {k: v for k, v in body.items() if k not in ("nonce", "enforce_nonce")}
        )
        == []
    )


async def test_discord_py_command_payloads_are_valid(tiny: TinyBot) -> None:
    payload = [c.to_dict(tiny.tree) for c in tiny.tree.get_commands()]
    assert validation.bulk_overwrite_commands(payload) == []


async def test_discord_py_callbacks_are_valid() -> None:
    from discord.webhook.async_ import interaction_message_response_params

    params = interaction_message_response_params(
        type=4,
        content="hi",
        embed=discord.Embed(title="t"),
        flags=discord.MessageFlags(ephemeral=True),
    )
    assert validation.interaction_callback(params.payload) == []
    choices = {"type": 8, "data": {"choices": [{"name": "Magnesium", "value": "magnesium"}]}}
    assert validation.interaction_callback(choices) == []
    assert validation.interaction_callback({"type": 5, "data": {"flags": 64}}) == []


def _paths(errors) -> set[tuple]:
    return {e.path for e in errors}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"content": "x" * 2001}, ("content",)),
        ({"embeds": [{"title": "x" * 257}]}, ("embeds", 0, "title")),
        ({"embeds": [{"description": "x" * 4097}]}, ("embeds", 0, "description")),
        ({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}, ("embeds", 0, "fields")),
        (
            {"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]},
            ("embeds", 0, "fields", 0, "value"),
        ),
        ({"embeds": [{"title": "t"}] * 11}, ("embeds",)),
        (
            {"embeds": [{"description": "x" * 4000}, {"description": "x" * 2001}]},
            ("embeds",),
        ),
        ({"content": "hi", "nonce": "n" * 26}, ("nonce",)),
        (
            {
                "components": [
                    {
                        "type": 1,
                        "components": [
                            {"type": 2, "style": 1, "label": "b", "custom_id": "x" * 101}
                        ],
                    }
                ]
            },
            ("components", 0, "components", 0, "custom_id"),
        ),
        (
            {
                "components": [
                    {
                        "type": 1,
                        "components": [
                            {"type": 2, "style": 1, "label": "b", "custom_id": f"c{i}"}
                            for i in range(6)
                        ],
                    }
                ]
            },
            ("components", 0, "components"),
        ),
        (
            {
                "components": [
                    {
                        "type": 1,
                        "components": [{"type": 2, "style": 1, "label": "b", "custom_id": f"r{r}"}],
                    }
                    for r in range(6)
                ]
            },
            ("components",),
        ),
        ({"content": "hi", "contnet": "typo"}, ("contnet",)),
    ],
)
async def test_each_message_limit_is_refused_like_discord(
    http: aiohttp.ClientSession, driver: Driver, body: dict[str, Any], path: tuple
) -> None:
    channel = driver.add_channel(driver.add_guild("G"), "tips")
    async with http.post(f"channels/{channel.id}/messages", json=body) as response:
        assert response.status == 400
        error = await response.json()
    assert error["code"] == 50035 and error["message"] == "Invalid Form Body"
    node = error["errors"]
    for part in path:
        node = node[str(part)]
    assert node["_errors"][0]["code"]
    assert path in _paths(driver.rejections[-1].errors)
    assert driver.messages_in(channel) == []


async def test_empty_message_is_50006(http: aiohttp.ClientSession, driver: Driver) -> None:
    channel = driver.add_channel(driver.add_guild("G"), "tips")
    async with http.post(f"channels/{channel.id}/messages", json={"content": ""}) as response:
        assert response.status == 400
        assert (await response.json())["code"] == 50006


def _command(**overrides: Any) -> dict[str, Any]:
    return {"name": "nutrient", "description": "Facts about a nutrient", "type": 1, **overrides}


def _option(name: object = "name", **overrides: Any) -> dict[str, Any]:
    return {"type": 3, "name": name, "description": "A nutrient", **overrides}


@pytest.mark.parametrize(
    ("commands", "code"),
    [
        ([_command(name="Nutrient")], "APPLICATION_COMMAND_INVALID_NAME"),
        ([_command(name="two words")], "APPLICATION_COMMAND_INVALID_NAME"),
        ([_command(name="x" * 33)], "APPLICATION_COMMAND_INVALID_NAME"),
        ([_command(description="")], "BASE_TYPE_BAD_LENGTH"),
        ([_command(description="x" * 101)], "BASE_TYPE_BAD_LENGTH"),
        ([_command(options=[_option(f"o{i}") for i in range(26)])], "BASE_TYPE_MAX_LENGTH"),
        (
            [_command(options=[_option("a"), _option("b", required=True)])],
            "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
        ),
        (
            [_command(options=[_option(autocomplete=True, choices=[{"name": "a", "value": "a"}])])],
            "APPLICATION_COMMAND_AUTOCOMPLETE_AND_CHOICES",
        ),
        (
            [
                _command(
                    options=[
                        _option(choices=[{"name": f"c{i}", "value": f"c{i}"} for i in range(26)])
                    ]
                )
            ],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            [_command(options=[_option("a"), _option("a")])],
            "APPLICATION_COMMAND_OPTION_NAME_DUPLICATED",
        ),
        ([_command(options=[_option(["a"])])], "APPLICATION_COMMAND_INVALID_NAME"),
        ([_command(contexts=[5])], "BASE_TYPE_CHOICES"),
        ([_command(), _command()], "APPLICATION_COMMANDS_DUPLICATE_NAME"),
    ],
)
async def test_command_rules_are_enforced(
    http: aiohttp.ClientSession, driver: Driver, commands: list[dict[str, Any]], code: str
) -> None:
    url = f"applications/{driver.world.application_id}/commands"
    async with http.put(url, json=commands) as response:
        assert response.status == 400
        body = await response.json()
    assert body["code"] == 50035
    assert code in {e.code for e in driver.rejections[-1].errors}
    assert driver.world.global_commands == []


async def test_valid_commands_are_stored_with_stable_ids(
    http: aiohttp.ClientSession, driver: Driver
) -> None:
    url = f"applications/{driver.world.application_id}/commands"
    async with http.put(
        url, json=[_command(options=[_option(required=True, autocomplete=True)])]
    ) as r:
        assert r.status == 200
        first = await r.json()
    async with http.put(url, json=[_command()]) as r:
        second = await r.json()
    assert first[0]["id"] == second[0]["id"]
    assert driver.stats.command_syncs == ["global", "global"]
    assert driver.rejections == []


async def test_autocomplete_limits(driver: Driver) -> None:
    too_many = {
        "type": 8,
        "data": {"choices": [{"name": f"c{i}", "value": "v"} for i in range(26)]},
    }
    assert ("data", "choices") in _paths(validation.interaction_callback(too_many))
    long_value = {"type": 8, "data": {"choices": [{"name": "c", "value": "v" * 101}]}}
    assert ("data", "choices", 0, "value") in _paths(validation.interaction_callback(long_value))


async def test_validation_is_fast_enough_for_thousands_of_requests() -> None:
    import time

    body = _message_body(
        content="hello", embed=discord.Embed(title="t", description="d"), nonce="n"
    )
    validation.create_message(body)  # compile once
    started = time.perf_counter()
    for _ in range(1000):
        validation.create_message(body)
    assert time.perf_counter() - started < 5.0


async def test_tree_with_bad_command_gets_50035_from_sync(tiny: TinyBot, driver: Driver) -> None:
    @tiny.tree.command(name="bad", description="x" * 100)
    @app_commands.describe(a="first", b="second")
    async def bad(interaction: discord.Interaction, a: str, b: str) -> None: ...

    bad._params["a"].required = False  # optional before required: Discord refuses
    with pytest.raises(discord.HTTPException) as caught:
        await tiny.tree.sync()
    assert caught.value.code == 50035
    assert "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID" in str(driver.rejections[-1])
