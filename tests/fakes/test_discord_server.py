"""Self-tests of the fake Discord server, driven by the real discord.py client.

Every test points discord.py at the fake with the recipe of ``discord_server.py``
(``Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY``, restored by monkeypatch), starts
clients with ``login()`` + ``connect()`` in a task and closes them before the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import threading
import time
import warnings
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar

import aiohttp
import pytest
import yarl

from tests.fakes.discord_server import (
    PERMISSIONS,
    FakeDiscordServer,
    FakeGuild,
    FakeUser,
    RateLimit,
    RateLimits,
)

with warnings.catch_warnings():
    # discord.py imports the standard audioop module, deprecated since Python 3.11; with
    # warnings as errors the import itself would fail.
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord
    import discord.gateway
    import discord.http
    from discord import app_commands

READY_TIMEOUT = 10.0


def point_discord_py_at(monkeypatch: pytest.MonkeyPatch, dc: FakeDiscordServer) -> None:
    """The recipe of the module docstring, undone after the test by monkeypatch."""
    monkeypatch.setattr(discord.http.Route, "BASE", dc.api_base)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(dc.gateway_url)
    )


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolving any host but the loopback fails: nothing may leave 127.0.0.1."""
    resolve = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost", "::1", None):
            raise OSError(f"test tried to reach {host!r}")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture(autouse=True)
async def _nothing_left_running() -> AsyncIterator[None]:
    """Fail a test that leaves tasks or discord.py heartbeat threads behind."""
    threads_before = set(threading.enumerate())
    yield
    current = asyncio.current_task()
    for _ in range(3):
        await asyncio.sleep(0)
    leftover = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    assert not leftover, leftover
    for _ in range(200):  # discord.py's heartbeat threads stop within a moment
        if not set(threading.enumerate()) - threads_before:
            break
        await asyncio.sleep(0.01)
    assert not set(threading.enumerate()) - threads_before


@pytest.fixture
async def dc(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscordServer]:
    async with FakeDiscordServer() as server:
        point_discord_py_at(monkeypatch, server)
        yield server


@contextlib.asynccontextmanager
async def running(client: discord.Client, token: str) -> AsyncIterator[asyncio.Task[None]]:
    """Log in, connect in a task, wait for on_ready; close the client and await the task."""
    await client.login(token)
    task = asyncio.create_task(client.connect())
    try:
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, task}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ready
            if task.done():
                task.result()
            raise TimeoutError("the client did not become ready")
        yield task
    finally:
        await client.close()
        await asyncio.wait_for(task, 10)


def new_client(**options: Any) -> discord.Client:
    options.setdefault("intents", discord.Intents.default())
    options.setdefault("guild_ready_timeout", 0.05)
    return discord.Client(**options)


def veterans_guild(dc: FakeDiscordServer, **options: Any) -> tuple[FakeGuild, FakeUser]:
    user = dc.add_user("ivan", global_name="Ivan", locale="ru")
    guild = dc.add_guild(
        "Veterans", preferred_locale="ru", channels=["general", "memorial"], members=[user]
    )
    return guild, user


async def test_connect_ready_guild_create_and_member_chunks(dc: FakeDiscordServer) -> None:
    guild, user = veterans_guild(dc)
    historians = dc.add_role(guild, "historians", mentionable=True)
    dc.add_member(guild, dc.add_user("olga"), roles=[historians], nick="Olga")
    intents = discord.Intents.default()
    intents.members = True
    client = new_client(intents=intents)
    async with running(client, dc.token):
        cached = client.get_guild(guild.id)
        assert cached is not None
        assert cached.name == "Veterans"
        assert cached.preferred_locale is discord.Locale.russian
        assert cached.owner_id == guild.owner_id
        assert sorted(c.name for c in cached.text_channels) == ["general", "memorial"]
        assert {r.name for r in cached.roles} == {"@everyone", "historians", dc.bot.username}
        assert cached.me is not None
        assert cached.me.id == dc.bot.id
        # With the members intent discord.py chunks the guild at startup (op 8).
        assert cached.chunked
        assert cached.get_member(user.id) is not None
        assert cached.get_member(user.id).display_name == "Ivan"  # type: ignore[union-attr]
        assert client.user is not None
        assert client.user.id == dc.application_id
        assert client.application_id == dc.application_id
    connection = dc.gateway_connections[0]
    assert connection.kind == "identify"
    assert connection.compress == "zlib-stream"
    assert connection.query["v"] == "10"
    assert connection.query["encoding"] == "json"
    assert connection.intents == intents.value
    assert connection.heartbeats >= 1
    assert dc.gateway.member_requests
    # discord.py's close() races its own reader, which closes the socket with 4000 first.
    assert connection.closed_by == "client"
    assert connection.close_code in (1000, 4000)


class TreeClient(discord.Client):
    """A client with a command tree; ``setup`` runs in setup_hook (views, dynamic items).

    Re-IDENTIFYs do not wait the 5 s discord.py waits by default."""

    def __init__(
        self, setup: Callable[[TreeClient], Awaitable[None]] | None = None, **options: Any
    ) -> None:
        options.setdefault("intents", discord.Intents.default())
        options.setdefault("guild_ready_timeout", 0.05)
        super().__init__(**options)
        self.tree: app_commands.CommandTree[TreeClient] = app_commands.CommandTree(self)
        self._setup = setup

    async def setup_hook(self) -> None:
        if self._setup is not None:
            await self._setup(self)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


class Translations(app_commands.Translator):
    TABLE: ClassVar[dict[str, dict[discord.Locale, str]]] = {
        "memorial": {
            discord.Locale.russian: "мемориал",
            discord.Locale.french: "memorial",
            discord.Locale.dutch: "gedenkteken",
            discord.Locale.german: "denkmal",
        },
        "Find a memorial": {
            discord.Locale.russian: "Найти мемориал",
            discord.Locale.french: "Trouver un mémorial",
            discord.Locale.dutch: "Zoek een gedenkteken",
            discord.Locale.german: "Ein Denkmal finden",
        },
        "city": {discord.Locale.russian: "город", discord.Locale.german: "stadt"},
        "City or village": {
            discord.Locale.russian: "Город или село",
            discord.Locale.german: "Stadt oder Dorf",
        },
    }

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        return self.TABLE.get(string.message, {}).get(locale)


async def test_tree_sync_stores_commands_with_localizations(dc: FakeDiscordServer) -> None:
    guild, _ = veterans_guild(dc)
    client = TreeClient()
    await client.tree.set_translator(Translations())

    @client.tree.command(
        name=app_commands.locale_str("memorial"),
        description=app_commands.locale_str("Find a memorial"),
    )
    @app_commands.rename(city=app_commands.locale_str("city"))
    @app_commands.describe(city=app_commands.locale_str("City or village"))
    async def memorial(interaction: discord.Interaction, city: str) -> None:
        await interaction.response.send_message(city)

    @client.tree.command(
        name="announce", description="Organizers only", guild=discord.Object(guild.id)
    )
    @app_commands.default_permissions(manage_guild=True)
    async def announce(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok")

    await client.login(dc.token)
    try:
        synced = await client.tree.sync()
        synced_guild = await client.tree.sync(guild=discord.Object(guild.id))
        resynced = await client.tree.sync()
        fetched = await client.tree.fetch_commands()
        with pytest.raises(discord.HTTPException) as bad_locale:
            await client.http.bulk_upsert_global_commands(
                dc.application_id,
                [{"name": "memorial", "description": "x", "name_localizations": {"en": "x"}}],
            )
        with pytest.raises(discord.HTTPException) as bad_name:
            await client.http.bulk_upsert_global_commands(
                dc.application_id, [{"name": "Memorial", "description": "x" * 101}]
            )
    finally:
        await client.close()
    stored = dc.command("memorial")
    assert stored["name_localizations"] == {
        "ru": "мемориал",
        "fr": "memorial",
        "nl": "gedenkteken",
        "de": "denkmal",
    }
    assert stored["description_localizations"]["fr"] == "Trouver un mémorial"
    option = stored["options"][0]
    assert option["name"] == "city"
    assert option["name_localizations"] == {"ru": "город", "de": "stadt"}
    assert option["required"] is True
    assert [c.id for c in synced] == [int(stored["id"])]
    assert [c.id for c in resynced] == [int(stored["id"])]  # ids survive a re-sync
    assert fetched[0].name == "memorial"
    assert dc.commands() == [stored]  # a failed bulk overwrite changed nothing
    announce_stored = dc.command("announce", guild)
    assert announce_stored["guild_id"] == str(guild.id)
    assert announce_stored["default_member_permissions"] == str(PERMISSIONS["MANAGE_GUILD"])
    assert synced_guild[0].guild_id == guild.id
    assert bad_locale.value.status == 400
    assert bad_locale.value.code == 50035
    assert "name_localizations.en" in bad_locale.value.text
    assert bad_name.value.code == 50035
    assert "Command name is invalid" in bad_name.value.text
    assert "description" in bad_name.value.text


async def test_slash_command_round_trip_with_ephemeral_reply(dc: FakeDiscordServer) -> None:
    guild, user = veterans_guild(dc)
    channel = guild.channel("general")
    client = TreeClient()

    @client.tree.command(name="hello", description="Say hello")
    async def hello(interaction: discord.Interaction, name: str, times: int = 1) -> None:
        text = f"{interaction.locale.value}/{interaction.guild_locale}: hi {name} x{times}"
        await interaction.response.send_message(text, ephemeral=True)
        await interaction.followup.send("and welcome")

    @client.tree.command(name="slow", description="Takes a while")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await asyncio.sleep(0.05)
        await interaction.edit_original_response(content="done")

    async with running(client, dc.token):
        await client.tree.sync()
        handle = await dc.slash_command(
            guild, channel, user, "hello", {"name": "Ivan", "times": 2}, locale="ru"
        )
        response = await handle.response(timeout=5)
        assert response.type == 4
        assert response.ephemeral
        assert response.flags & 64
        assert response.content == "ru/ru: hi Ivan x2"
        followups = await handle.wait_for_followups(1, timeout=5)
        assert followups[0].content == "and welcome"
        assert not followups[0].ephemeral
        assert handle.original is not None
        assert handle.original.ephemeral
        public = dc.messages(channel, include_ephemeral=False)
        assert [m.content for m in public] == ["and welcome"]
        async with aiohttp.ClientSession() as session:
            url = f"{dc.api_base}/interactions/{handle.id}/{handle.token}/callback"
            async with session.post(url, json={"type": 4, "data": {"content": "again"}}) as answer:
                assert answer.status == 400
                assert (await answer.json())["code"] == 40060
        assert handle.rejected[0].code == 40060

        deferred = await dc.slash_command(guild, channel, user, "slow")
        assert (await deferred.response()).type == 5
        original = await deferred.wait_for_original(timeout=5)
        assert original.content == "done"
        assert not original.loading

        with pytest.raises(ValueError, match="no command"):
            await dc.slash_command(guild, channel, user, "unknown")
        with pytest.raises(ValueError, match="misses required options"):
            await dc.slash_command(guild, channel, user, "hello")


async def test_autocomplete(dc: FakeDiscordServer) -> None:
    guild, user = veterans_guild(dc)
    cities = ["Moscow", "Minsk", "Murmansk", "Kyiv", "Volgograd"]
    client = TreeClient()

    @client.tree.command(name="city", description="Memorials of a city")
    async def city(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(name)

    @city.autocomplete("name")
    async def city_names(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if current == "*":
            return [app_commands.Choice(name=f"city {i}", value=str(i)) for i in range(30)]
        return [
            app_commands.Choice(name=c, value=c)
            for c in cities
            if c.lower().startswith(current.lower())
        ]

    async with running(client, dc.token):
        await client.tree.sync()
        assert dc.command("city")["options"][0]["autocomplete"] is True
        handle = await dc.autocomplete(
            guild, None, user, "city", {"name": "m"}, focused="name", locale="ru"
        )
        assert handle.payload["data"]["options"][0]["focused"] is True
        response = await handle.response(timeout=5)
        assert response.type == 8
        assert [c["name"] for c in response.choices] == ["Moscow", "Minsk", "Murmansk"]
        too_many = await dc.autocomplete(guild, None, user, "city", {"name": "*"}, focused="name")
        refused = await too_many.wait_for_rejection(timeout=5)
        assert refused.code == 50035
        assert not too_many.callbacks


class MemorialView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(
        label="Subscribe", custom_id="memorial:subscribe", style=discord.ButtonStyle.primary
    )
    async def subscribe(
        self, interaction: discord.Interaction, button: discord.ui.Button[MemorialView]
    ) -> None:
        await interaction.response.send_message(f"subscribed {interaction.user.id}", ephemeral=True)


class EventButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=r"event:(?P<id>\d+)"
):
    def __init__(self, event_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Attend", custom_id=f"event:{event_id}", style=discord.ButtonStyle.success
            )
        )
        self.event_id = event_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> EventButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(content=f"attending event {self.event_id}")


async def test_persistent_view_and_dynamic_item_survive_a_restart(dc: FakeDiscordServer) -> None:
    guild, user = veterans_guild(dc)
    channel = guild.channel("memorial")
    first = TreeClient()
    async with running(first, dc.token):
        view = MemorialView()
        view.add_item(EventButton(42))
        target = first.get_channel(channel.id)
        assert isinstance(target, discord.TextChannel)
        await target.send("Immortal Regiment, 9 May", view=view)

    async def register(client: TreeClient) -> None:
        client.add_view(MemorialView())
        client.add_dynamic_items(EventButton)

    second = TreeClient(register)
    async with running(second, dc.token):
        message = dc.messages(channel)[0]
        assert message.custom_ids == ["memorial:subscribe", "event:42"]
        pressed = await dc.press_button(message, "memorial:subscribe", user)
        response = await pressed.response(timeout=5)
        assert response.type == 4
        assert response.ephemeral
        assert response.content == f"subscribed {user.id}"
        attend = await dc.press_button(message, "event:42", user)
        assert (await attend.response(timeout=5)).type == 7
        assert message.content == "attending event 42"
        assert message.edits
        with pytest.raises(ValueError, match="no component"):
            await dc.press_button(message, "event:43", user)
    assert [c.kind for c in dc.gateway_connections] == ["identify", "identify"]


async def test_send_to_a_channel_id_without_the_cache(dc: FakeDiscordServer) -> None:
    guild, _ = veterans_guild(dc)
    channel = guild.channel("memorial")
    client = new_client()
    await client.login(dc.token)  # REST only: no gateway connection, empty cache
    try:
        assert client.get_channel(channel.id) is None
        embed = discord.Embed(title="9 May", description="Victory Day", colour=0xB22222)
        embed.add_field(name="Where", value="Everywhere").set_footer(text="Commemoration")
        sent = await client.get_partial_messageable(channel.id).send("Remember", embed=embed)
    finally:
        await client.close()
    recorded = dc.messages(channel)
    assert [m.id for m in recorded] == [sent.id]
    assert recorded[0].content == "Remember"
    assert recorded[0].embeds[0]["title"] == "9 May"
    assert recorded[0].embeds[0]["fields"] == [
        {"name": "Where", "value": "Everywhere", "inline": True}
    ]
    assert "Victory Day" in recorded[0].text
    assert recorded[0].source == "channel"
    assert dc.gateway_connections == []


async def test_errors_surface_as_discord_exceptions(dc: FakeDiscordServer) -> None:
    guild, _ = veterans_guild(dc)
    general = guild.channel("general")
    memorial = guild.channel("memorial")
    open_channel = dc.add_channel(guild, "announcements")
    dc.forbid(general, 50001)
    dc.set_overwrite(memorial, dc.bot, deny=PERMISSIONS["SEND_MESSAGES"])
    refused = new_client()
    with pytest.raises(discord.LoginFailure):
        await refused.login("not-the-token")
    await refused.close()
    client = new_client()
    await client.login(dc.token)
    try:

        def to(channel_id: int) -> discord.PartialMessageable:
            return client.get_partial_messageable(channel_id)

        with pytest.raises(discord.Forbidden) as missing_access:
            await to(general.id).send("hello")
        with pytest.raises(discord.Forbidden) as missing_permissions:
            await to(memorial.id).send("hello")
        with pytest.raises(discord.NotFound) as unknown_channel:
            await to(dc.snowflake()).send("hello")
        with pytest.raises(discord.NotFound) as unknown_guild:
            await client.fetch_guild(dc.snowflake())
        with pytest.raises(discord.HTTPException) as too_long:
            await to(open_channel.id).send("x" * 2001)
        crowded = discord.Embed(title="t" * 257)
        for number in range(26):
            crowded.add_field(name=f"field {number}", value="v")
        with pytest.raises(discord.HTTPException) as bad_embed:
            await to(open_channel.id).send(embed=crowded)
        with pytest.raises(discord.HTTPException) as empty:
            await to(open_channel.id).send("   ")
        fine = await to(open_channel.id).send("x" * 2000)
    finally:
        await client.close()
    assert (missing_access.value.status, missing_access.value.code) == (403, 50001)
    assert missing_access.value.text == "Missing Access"
    assert (missing_permissions.value.status, missing_permissions.value.code) == (403, 50013)
    assert (unknown_channel.value.status, unknown_channel.value.code) == (404, 10003)
    assert unknown_guild.value.code == 10004
    assert (too_long.value.status, too_long.value.code) == (400, 50035)
    assert "Must be 2000 or fewer in length." in too_long.value.text
    assert bad_embed.value.code == 50035
    assert "embeds.0.title" in bad_embed.value.text
    assert "embeds.0.fields" in bad_embed.value.text
    assert empty.value.code == 50006
    assert [m.id for m in dc.messages()] == [fine.id]


async def test_a_429_is_waited_for_and_retried(dc: FakeDiscordServer) -> None:
    guild, _ = veterans_guild(dc)
    channel = guild.channel("general")
    route = "POST /channels/{channel_id}/messages"
    dc.inject_429(route, retry_after=0.3)
    client = new_client()
    await client.login(dc.token)
    try:
        target = client.get_partial_messageable(channel.id)
        started = time.monotonic()
        await target.send("after the route limit")
        waited = time.monotonic() - started
        dc.inject_429(retry_after=0.2, is_global=True)
        await target.send("after the global limit")
    finally:
        await client.close()
    assert waited >= 0.3
    assert dc.stats.injected_429s == 2
    assert dc.stats.rate_limited == 2
    assert dc.stats.global_rate_limited == 1
    assert [r.status for r in dc.requests if r.route == route] == [429, 200, 429, 200]
    assert [m.content for m in dc.messages(channel)] == [
        "after the route limit",
        "after the global limit",
    ]


async def test_bucket_and_global_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = RateLimits.discord(global_per_second=10, messages_create=RateLimit(3, 0.5))
    async with FakeDiscordServer(rate_limits=limits) as dc:
        point_discord_py_at(monkeypatch, dc)
        guild, _ = veterans_guild(dc)
        channel = guild.channel("general")
        others = [dc.add_channel(guild, f"room-{n}") for n in range(14)]
        client = new_client()
        await client.login(dc.token)
        try:
            target = client.get_partial_messageable(channel.id)
            for number in range(6):
                await target.send(f"message {number}")
            bucket_429s = dc.stats.rate_limited
            fetched = await asyncio.gather(*(client.fetch_channel(c.id) for c in others))
        finally:
            await client.close()
        times = dc.stats.message_times[channel.id]
        assert len(times) == 6
        assert times[3] - times[0] >= 0.45  # discord.py waited for the bucket to reset
        assert bucket_429s == 0  # ... because the headers told it to
        assert dc.stats.messages_per_second(channel.id) <= 6
        assert sorted(c.id for c in fetched) == sorted(c.id for c in others)
        assert dc.stats.global_rate_limited >= 1  # 14 + login requests > 10 per second


async def test_allowed_mentions_none_does_not_ping(dc: FakeDiscordServer) -> None:
    guild, user = veterans_guild(dc)
    veterans = dc.add_role(guild, "veterans", mentionable=True)
    channel = guild.channel("general")
    content = f"@everyone {user.mention} {veterans.mention} Victory Day"
    client = new_client()
    await client.login(dc.token)
    try:
        target = client.get_partial_messageable(channel.id)
        await target.send(content, allowed_mentions=discord.AllowedMentions.none())
        await target.send(content)
        await target.send(
            content, allowed_mentions=discord.AllowedMentions(everyone=False, roles=False)
        )
    finally:
        await client.close()
    silent, loud, users_only = dc.messages(channel)
    assert silent.allowed_mentions == {"parse": []}
    assert not silent.pings.anyone
    assert silent.to_json()["mention_everyone"] is False
    assert loud.allowed_mentions is None
    assert loud.pings.everyone
    assert loud.pings.users == {user.id}
    assert loud.pings.roles == {veterans.id}
    assert not users_only.pings.everyone
    assert users_only.pings.users == {user.id}
    assert not users_only.pings.roles


class QuickShardedClient(discord.AutoShardedClient):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


async def test_auto_sharded_client_connects_two_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDiscordServer(shards=2) as dc:
        point_discord_py_at(monkeypatch, dc)
        zero = dc.add_guild("Shard zero", shard=0)
        one = dc.add_guild("Shard one", shard=1)
        client = QuickShardedClient(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        async with running(client, dc.token):
            assert client.shard_count == 2
            assert sorted(client.shards) == [0, 1]
            cached_zero = client.get_guild(zero.id)
            cached_one = client.get_guild(one.id)
            assert cached_zero is not None
            assert cached_one is not None
            assert (cached_zero.shard_id, cached_one.shard_id) == (0, 1)
        identified = sorted(c.shard for c in dc.gateway_connections if c.shard is not None)
        assert identified == [(0, 2), (1, 2)]
        for session in dc.sessions:
            _, ready_text = session.backlog[0]
            ready = json.loads(ready_text)
            assert ready["t"] == "READY"
            assert ready["d"]["shard"] == [session.shard_id, 2]
            expected = zero.id if session.shard_id == 0 else one.id
            assert [g["id"] for g in ready["d"]["guilds"]] == [str(expected)]


async def test_reconnects_resume_and_replay_missed_events(dc: FakeDiscordServer) -> None:
    guild, user = veterans_guild(dc)
    client = TreeClient()
    resumes: list[float] = []

    readies: list[float] = []

    @client.event
    async def on_resumed() -> None:
        resumes.append(time.monotonic())

    @client.event
    async def on_ready() -> None:
        readies.append(time.monotonic())

    @client.tree.command(name="ping", description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    def kinds() -> list[str]:
        return [c.kind for c in dc.gateway_connections]

    async with running(client, dc.token):
        await client.tree.sync()
        assert await dc.drop_connection(code=4000) == 1
        await dc.wait_for(lambda: True if len(resumes) == 1 else None, 5, "first resume")
        assert await dc.request_reconnect() == 1
        await dc.wait_for(lambda: True if len(resumes) == 2 else None, 5, "second resume")
        assert await dc.drop_connection(abrupt=True) == 1
        handle = await dc.slash_command(guild, None, user, "ping")  # while disconnected
        assert (await handle.response(timeout=5)).content == "pong"
        assert len(resumes) == 3
        assert await dc.invalidate_session() == 1
        await dc.wait_for(lambda: True if kinds().count("identify") == 2 else None, 5, "IDENTIFY")
        await dc.wait_until_connected(1)
        await dc.wait_for(lambda: True if len(readies) == 2 else None, 5, "on_ready again")
        again = await dc.slash_command(guild, None, user, "ping")
        assert (await again.response(timeout=5)).content == "pong"
    assert kinds() == ["identify", "resume", "resume", "resume", "identify"]
    # RESUMEs go to READY's resume_gateway_url (discord.py re-IDENTIFYs there too).
    assert [c.path for c in dc.gateway_connections][:4] == ["/", "/resume/", "/resume/", "/resume/"]
    assert len({c.session_id for c in dc.gateway_connections}) == 2


async def test_gateway_protocol_and_rest_basics(dc: FakeDiscordServer) -> None:
    properties = {"os": "linux", "browser": "test", "device": "test"}
    async with aiohttp.ClientSession() as session:
        url = f"{dc.gateway_url}?v=10&encoding=json&compress=zlib-stream"
        async with session.ws_connect(url) as ws:
            inflator = zlib.decompressobj()

            async def receive() -> dict[str, Any]:
                frame = await ws.receive_bytes(timeout=5)
                assert frame.endswith(b"\x00\x00\xff\xff")
                data: dict[str, Any] = json.loads(inflator.decompress(frame))
                return data

            hello = await receive()
            assert hello["op"] == 10
            assert hello["d"]["heartbeat_interval"] == 41250
            await ws.send_json({"op": 1, "d": None})
            assert (await receive())["op"] == 11
            await ws.send_json(
                {"op": 2, "d": {"token": "wrong", "intents": 513, "properties": properties}}
            )
            closing = await ws.receive(timeout=5)
            assert closing.type is aiohttp.WSMsgType.CLOSE
            assert closing.data == 4004
        async with session.ws_connect(f"{dc.gateway_url}?v=10&encoding=json") as ws:
            assert (await ws.receive_json(timeout=5))["op"] == 10
            await ws.send_json({"op": 8, "d": {"guild_id": "1"}})
            closing = await ws.receive(timeout=5)
            assert closing.data == 4003
        dc.gateway.allowed_intents = 0
        async with session.ws_connect(f"{dc.gateway_url}?v=10&encoding=json") as ws:
            assert (await ws.receive_json(timeout=5))["op"] == 10
            members_intent = 1 << 1
            await ws.send_json(
                {
                    "op": 2,
                    "d": {"token": dc.token, "intents": members_intent, "properties": properties},
                }
            )
            closing = await ws.receive(timeout=5)
            assert closing.data == 4014
        async with session.get(f"{dc.api_base}/users/@me") as anonymous:
            assert anonymous.status == 401
            assert await anonymous.json() == {"message": "401: Unauthorized", "code": 0}
        headers = {"Authorization": f"Bot {dc.token}"}
        async with session.get(f"{dc.api_base}/gateway/bot", headers=headers) as answer:
            assert answer.status == 200
            assert answer.headers["Content-Type"] == "application/json"
            for name in ("Limit", "Remaining", "Reset", "Reset-After", "Bucket"):
                assert f"X-RateLimit-{name}" in answer.headers
            body = await answer.json()
            assert body["url"] == dc.gateway_url
            assert body["shards"] == 1
            assert body["session_start_limit"]["max_concurrency"] == 1
        async with session.get(f"{dc.api_base}/no/such/route", headers=headers) as missing:
            assert missing.status == 404
            assert (await missing.json())["code"] == 0


class MemorialForm(discord.ui.Modal, title="New memorial"):
    name: discord.ui.TextInput[MemorialForm] = discord.ui.TextInput(
        label="Name", custom_id="form:name"
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"saved {self.name.value}", ephemeral=True)


class LanguagePicker(discord.ui.View):
    @discord.ui.select(
        custom_id="pick:language",
        options=[
            discord.SelectOption(label="English", value="en"),
            discord.SelectOption(label="Русский", value="ru"),
        ],
    )
    async def pick(
        self, interaction: discord.Interaction, select: discord.ui.Select[LanguagePicker]
    ) -> None:
        await interaction.response.send_message(f"language {select.values[0]}")


async def test_selects_modals_dms_edits_and_message_events(dc: FakeDiscordServer) -> None:
    guild, user = veterans_guild(dc)
    channel = guild.channel("general")
    dc.interaction_deadline = 0.2
    intents = discord.Intents.default()
    intents.message_content = True
    client = TreeClient(intents=intents)
    seen: list[discord.Message] = []

    @client.event
    async def on_message(message: discord.Message) -> None:
        seen.append(message)

    @client.tree.command(name="pick", description="Pick a language")
    async def pick(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Choose", view=LanguagePicker(timeout=None))

    @client.tree.command(name="form", description="Add a memorial")
    async def form(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(MemorialForm())

    @client.tree.command(name="late", description="Answers after the deadline")
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.3)
        await interaction.response.send_message("too late")

    async with running(client, dc.token):
        await client.tree.sync()
        picked = await dc.slash_command(guild, channel, user, "pick")
        menu = (await picked.response()).message
        assert menu is not None
        assert menu.custom_ids == ["pick:language"]
        chosen = await dc.select(menu, "pick:language", ["ru"], user)
        assert (await chosen.response()).content == "language ru"
        with pytest.raises(ValueError, match="not an option"):
            await dc.select(menu, "pick:language", ["fr"], user)

        opened = await dc.slash_command(guild, channel, user, "form")
        assert (await opened.response()).type == 9
        assert opened.modal is not None
        submitted = await dc.submit_modal(opened, {"form:name": "Ivan Petrov"})
        saved = await submitted.response()
        assert (saved.content, saved.ephemeral) == ("saved Ivan Petrov", True)

        late_handle = await dc.slash_command(guild, channel, user, "late")
        assert (await late_handle.wait_for_rejection(timeout=5)).code == 10062
        assert not late_handle.callbacks

        await dc.user_message(channel, user, "hello bot")
        await dc.wait_for(
            lambda: True if any(m.content == "hello bot" for m in seen) else None, 5, "MESSAGE"
        )
        assert any(m.author.id == dc.bot.id and m.content == "Choose" for m in seen)

        target = client.get_channel(channel.id)
        assert isinstance(target, discord.TextChannel)
        draft = await target.send("draft")
        await draft.edit(content="final")
        recorded = dc.message(draft.id)
        assert (recorded.content, len(recorded.edits)) == ("final", 1)
        await draft.delete()
        assert recorded.deleted
        assert draft.id not in [m.id for m in dc.messages(channel)]

        person = await client.fetch_user(user.id)
        await person.send("Thank you for remembering")
        assert [m.content for m in dc.messages(dc.dm_channel(user))] == [
            "Thank you for remembering"
        ]
        dc.block_dms(user)
        with pytest.raises(discord.Forbidden) as blocked:
            await person.send("again")
        assert blocked.value.code == 50007
