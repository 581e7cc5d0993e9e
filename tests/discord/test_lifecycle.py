"""Starting and stopping in the caller's loop, configuration errors, endpoints, sharding."""

from __future__ import annotations

import logging
from dataclasses import replace

import discord.gateway
import discord.http
import pytest

from bot.adapters.discord import DiscordAdapter
from bot.app import App
from bot.config import ConfigError, Settings
from bot.core.i18n import translator
from tests.discord.conftest import OPTIONS, sqlite_only
from tests.fakes.discord_server import FakeDiscordServer, free_tcp_port

pytestmark = sqlite_only


async def test_start_and_stop_in_the_callers_loop(
    app: App, dc: FakeDiscordServer, discord_settings: Settings
) -> None:
    before = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with DiscordAdapter(app.dispatcher, discord_settings, options=OPTIONS) as adapter:
        assert dc.api_base == discord.http.Route.BASE
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == dc.gateway_url
        assert adapter.bot.is_ready()
        assert adapter.bot.shard_count == 1
        mentions = adapter.bot.allowed_mentions
        assert mentions is not None
        assert dict(mentions.to_dict()) == {"parse": []}
        connection = dc.gateway_connections[0]
        assert connection.intents == discord.Intents(guilds=True).value
    assert adapter.bot.is_closed()
    assert before == (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    assert dc.gateway_connections[0].closed_by == "client"


async def test_the_gateway_is_asked_of_the_api_when_not_configured(
    app: App, dc: FakeDiscordServer, discord_settings: Settings
) -> None:
    settings = replace(discord_settings, discord_gateway_url=None)
    async with DiscordAdapter(app.dispatcher, settings, options=OPTIONS) as adapter:
        assert adapter.bot.is_ready()
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == dc.gateway_url
    assert any(r.route == "GET /gateway/bot" for r in dc.requests)


async def test_a_refused_token_or_an_absent_server_is_one_clear_line(
    app: App, dc: FakeDiscordServer, discord_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = replace(discord_settings, discord_token="not-the-token")
    with pytest.raises(ConfigError) as refused:
        await DiscordAdapter(app.dispatcher, wrong, options=OPTIONS).start()
    assert str(refused.value) == (
        f"DISCORD_BOT_TOKEN was rejected by the Discord API at 127.0.0.1:{dc.port}"
    )
    port = free_tcp_port()
    absent = replace(discord_settings, discord_api_base_url=f"http://127.0.0.1:{port}/api/v10")
    with pytest.raises(ConfigError, match=f"cannot reach the Discord API at 127.0.0.1:{port}"):
        await DiscordAdapter(app.dispatcher, absent, options=OPTIONS).start()
    with pytest.raises(ConfigError, match="DISCORD_BOT_TOKEN"):
        DiscordAdapter(app.dispatcher, replace(discord_settings, discord_token=None))
    assert "not-the-token" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_auto_sharding_runs_every_shard(
    app: App, discord_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeDiscordServer(shards=2) as sharded:
        zero = sharded.add_guild("Shard zero", shard=0, preferred_locale="de")
        one = sharded.add_guild("Shard one", shard=1, preferred_locale="nl")
        visitor = sharded.add_user("visitor", locale="nl")
        sharded.add_member(one, visitor)
        settings = replace(
            discord_settings,
            discord_token=sharded.token,
            discord_api_base_url=sharded.api_base,
            discord_gateway_url=sharded.gateway_url,
        )
        async with DiscordAdapter(app.dispatcher, settings, options=OPTIONS) as adapter:
            assert adapter.bot.shard_count == 2
            assert sorted(adapter.bot.shards) == [0, 1]
            guild = adapter.bot.get_guild(one.id)
            assert guild is not None
            assert guild.shard_id == 1
            assert adapter.bot.get_guild(zero.id) is not None
            handle = await sharded.slash_command(one, None, visitor, "help")
            answer = await handle.response()
            assert answer.embeds[0]["title"] == translator("nl").gettext("Commands")
        shards = sorted(c.shard for c in sharded.gateway_connections if c.shard is not None)
        assert shards == [(0, 2), (1, 2)]


async def test_a_process_can_run_some_shards_only(app: App, discord_settings: Settings) -> None:
    async with FakeDiscordServer(shards=2) as sharded:
        sharded.add_guild("Shard zero", shard=0)
        one = sharded.add_guild("Shard one", shard=1)
        settings = replace(
            discord_settings,
            discord_token=sharded.token,
            discord_api_base_url=sharded.api_base,
            discord_gateway_url=sharded.gateway_url,
        )
        options = replace(OPTIONS, shard_count=2, shard_ids=(1,))
        async with DiscordAdapter(app.dispatcher, settings, options=options) as adapter:
            assert sorted(adapter.bot.shards) == [1]
            assert adapter.bot.get_guild(one.id) is not None
        assert [c.shard for c in sharded.gateway_connections] == [(1, 2)]
        assert not any(r.route == "GET /gateway/bot" for r in sharded.requests)


async def test_a_server_joined_later_and_a_dropped_connection(
    dc: FakeDiscordServer, adapter: DiscordAdapter
) -> None:
    user = dc.add_user("late", locale="en-GB")
    guild = dc.add_guild("Late", members=[user])
    await dc.wait_for(lambda: adapter.bot.get_guild(guild.id), 5, "GUILD_CREATE of a join")
    await dc.drop_connection(code=4000)
    handle = await dc.slash_command(guild, None, user, "help")
    answer = await handle.response()
    assert answer.embeds[0]["title"] == "Commands"
    await dc.wait_for(
        lambda: True if [c.kind for c in dc.gateway_connections][-1] == "resume" else None,
        5,
        "RESUME",
    )
