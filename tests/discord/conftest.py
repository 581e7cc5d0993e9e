"""Fixtures of the Discord adapter's tests: the fake Discord server, two servers, the adapter.

The adapter under test is the real one: discord.py's ``AutoShardedBot`` logged in to the
fake server on 127.0.0.1 (REST and gateway), with the real core on the ``app`` fixture
(SQLite and PostgreSQL). ``Veterans`` prefers Russian, ``Mémoire`` French; each has an
owner (Manage Server through ownership), a member without rights and an organizer whose
role is listed in ``ORGANIZER_IDS`` as ``discord:role:<id>``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord
    import discord.gateway
    import discord.http


from bot.adapters.discord import DiscordAdapter, DiscordOptions
from bot.app import App
from bot.config import Settings
from bot.core.domain import Event, EventStatus
from bot.core.records import Dataset
from tests.fakes.discord_server import (
    FakeChannel,
    FakeDiscordServer,
    FakeGuild,
    FakeRole,
    FakeUser,
    InteractionCallback,
    InteractionHandle,
    SentMessage,
)

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""For tests of the adapter's own behaviour that barely touch the database; the flows that
store chat state (setup, subscriptions, deactivation, restarts) run on both databases."""

OPTIONS = DiscordOptions(guild_ready_timeout=0.05, identify_delay=0.0, ready_timeout=10.0)


@pytest.fixture(autouse=True)
def _restore_discord_py(monkeypatch: pytest.MonkeyPatch) -> None:
    """discord.py's process-wide endpoints are put back after every test."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket,
        "DEFAULT_GATEWAY",
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
    )


@pytest.fixture(autouse=True)
def _nothing_left_running() -> Iterator[None]:
    """Fail a test that leaves discord.py's heartbeat threads behind."""
    before = set(threading.enumerate())
    yield
    for _ in range(300):
        if not set(threading.enumerate()) - before:
            break
        threading.Event().wait(0.01)
    assert not set(threading.enumerate()) - before


@pytest.fixture
async def dc() -> AsyncIterator[FakeDiscordServer]:
    """The fake Discord server on a free port of 127.0.0.1."""
    async with FakeDiscordServer() as server:
        yield server


@dataclass
class Server:
    """A guild of the fake with its people."""

    guild: FakeGuild
    general: FakeChannel
    news: FakeChannel
    owner: FakeUser
    member: FakeUser
    organizer: FakeUser
    organizers: FakeRole


@dataclass
class World:
    """Two servers in different languages."""

    ru: Server
    fr: Server


def _server(dc: FakeDiscordServer, name: str, locale: str, prefix: str) -> Server:
    owner = dc.add_user(f"{prefix}_owner", locale=locale)
    member = dc.add_user(f"{prefix}_member", locale=locale)
    organizer = dc.add_user(f"{prefix}_organizer", locale=locale)
    guild = dc.add_guild(
        name,
        preferred_locale=locale,
        owner=owner,
        channels=["general", "news"],
        members=[member],
    )
    role = dc.add_role(guild, "organizers", mentionable=True)
    dc.add_member(guild, organizer, roles=[role])
    return Server(
        guild=guild,
        general=guild.channel("general"),
        news=guild.channel("news"),
        owner=owner,
        member=member,
        organizer=organizer,
        organizers=role,
    )


@pytest.fixture
def world(dc: FakeDiscordServer) -> World:
    """``Veterans`` (ru) and ``Mémoire`` (fr)."""
    return World(
        ru=_server(dc, "Veterans", "ru", "ru"),
        fr=_server(dc, "Mémoire", "fr", "fr"),
    )


@pytest.fixture
def discord_settings(app: App, dc: FakeDiscordServer, world: World) -> Settings:
    """The app's settings with the fake's token and endpoints; the organizer roles of both
    servers are organizers (``ORGANIZER_IDS=discord:role:<id>``)."""
    organizers = frozenset(
        f"discord:role:{server.organizers.id}" for server in (world.ru, world.fr)
    )
    app.core.settings = replace(app.core.settings, organizer_ids=organizers)
    return replace(
        app.settings,
        discord_token=dc.token,
        discord_api_base_url=dc.api_base,
        discord_gateway_url=dc.gateway_url,
        organizer_ids=organizers,
    )


@pytest.fixture
async def adapter(
    app: App, discord_settings: Settings, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[DiscordAdapter]:
    """The adapter, connected to the fake; no error may be logged unless the test clears
    the log."""
    running = DiscordAdapter(app.dispatcher, discord_settings, options=OPTIONS)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors


async def command(
    dc: FakeDiscordServer,
    server: Server | None,
    user: FakeUser,
    name: str,
    options: dict[str, Any] | None = None,
    *,
    channel: FakeChannel | None = None,
    locale: str | None = None,
) -> tuple[InteractionHandle, InteractionCallback]:
    """``user`` runs ``/name`` (in ``channel``, default the server's #general; a DM without
    a server); returns the interaction and the bot's initial response."""
    guild = server.guild if server is not None else None
    place = channel or (server.general if server is not None else None)
    handle = await dc.slash_command(guild, place, user, name, options, locale=locale)
    return handle, await handle.response(timeout=5)


def text_of(callback: InteractionCallback) -> str:
    """Content, embed titles, descriptions and fields of a response, one per line."""
    parts = [callback.content]
    for embed in callback.embeds:
        parts += [str(embed.get("title") or ""), str(embed.get("description") or "")]
        for item in embed.get("fields") or []:
            parts += [str(item.get("name")), str(item.get("value"))]
    return "\n".join(part for part in parts if part)


def custom_ids(callback: InteractionCallback) -> list[str]:
    """Every custom_id of a response's buttons, in order."""
    return [
        str(button["custom_id"])
        for row in callback.components
        for button in row.get("components", [])
        if "custom_id" in button
    ]


def message_of(callback: InteractionCallback) -> SentMessage:
    """The message a response created or updated."""
    assert callback.message is not None
    return callback.message


EVENT_START = dt.datetime(2026, 5, 10, 12, 0, tzinfo=dt.UTC)


def events_dataset(count: int = 7) -> Dataset:
    """Upcoming events (the curated dataset has none after the tests' 9 May 2026)."""
    events = [
        Event(
            slug=f"immortal-regiment-{number}",
            starts_at=EVENT_START + dt.timedelta(days=number),
            timezone="Europe/Moscow" if number % 2 else "Europe/Brussels",
            title={
                "en": f"Immortal Regiment {number}",
                "ru": f"Бессмертный полк {number}",
                "fr": f"Régiment immortel {number}",
            },
            place={"en": "Citadel of Liège", "ru": "Цитадель Льежа", "fr": "Citadelle de Liège"},
            status=EventStatus.CANCELLED if number == 1 else EventStatus.SCHEDULED,
        )
        for number in range(count)
    ]
    return Dataset(events=events)
