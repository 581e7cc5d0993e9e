"""Failures: every exception in a command, a button or the tree is logged without the token
and the user gets the short apology in their language; slow answers are deferred."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from bot.adapters.discord import DiscordAdapter
from bot.app import App
from bot.config import Settings
from bot.core.domain import ChatSettings
from bot.core.i18n import translator
from tests.discord.conftest import OPTIONS, World, command, message_of, sqlite_only
from tests.discord.test_commands import readable
from tests.fakes.discord_server import FakeDiscordServer

APOLOGY = "Sorry, something went wrong. Please try again later."


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything logged, tracebacks included."""
    return (
        "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
        + caplog.text
    )


@sqlite_only
@pytest.mark.usefixtures("adapter")
async def test_a_failing_handler_apologizes_in_the_users_language(
    app: App,
    dc: FakeDiscordServer,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"search index exploded with {dc.token}")

    monkeypatch.setattr(app.core, "search_memorials", broken)
    _, answer = await command(dc, world.ru, world.ru.member, "memorial", {"query": "x"})
    assert answer.ephemeral
    assert answer.content == translator("ru").gettext(APOLOGY)
    assert "search index exploded" in logged(caplog)
    assert dc.token not in logged(caplog)
    caplog.clear()


@sqlite_only
@pytest.mark.usefixtures("adapter")
async def test_a_failure_outside_the_handlers_apologizes_too(
    app: App,
    dc: FakeDiscordServer,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"events table gone, token {dc.token}")

    monkeypatch.setattr(app.core, "upcoming_events", broken)
    _, answer = await command(dc, world.fr, world.fr.member, "events")
    assert (answer.ephemeral, answer.content) == (True, translator("fr").gettext(APOLOGY))

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"renderer bug near {dc.token}")

    _, today = await command(dc, world.fr, world.fr.member, "today")
    monkeypatch.setattr("bot.adapters.discord.adapter.render", explode)
    pressed = await dc.press_button(message_of(today), "cb:today:2026-05-10", world.fr.member)
    answer = await pressed.response()
    assert (answer.type, answer.ephemeral) == (4, True)
    assert answer.content == translator("fr").gettext(APOLOGY)
    text = logged(caplog)
    assert "events table gone" in text
    assert "renderer bug" in text
    assert dc.token not in text
    caplog.clear()


@sqlite_only
async def test_a_command_the_bot_does_not_know_apologizes(
    dc: FakeDiscordServer,
    world: World,
    adapter: DiscordAdapter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"{dc.api_base}/applications/{dc.application_id}/commands"
    headers = {"Authorization": f"Bot {dc.token}"}
    async with aiohttp.ClientSession() as session:
        body = {"name": "ghost", "description": "A command of an older version"}
        async with session.post(url, json=body, headers=headers) as created:
            assert created.status in (200, 201)
    _, answer = await command(dc, world.ru, world.ru.member, "ghost", locale="de")
    assert (answer.ephemeral, answer.content) == (True, translator("de").gettext(APOLOGY))
    assert "ghost" in logged(caplog)
    caplog.clear()


@sqlite_only
async def test_slow_answers_are_deferred(
    app: App,
    dc: FakeDiscordServer,
    world: World,
    discord_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    running = DiscordAdapter(
        app.dispatcher, discord_settings, options=replace(OPTIONS, defer_after=0.05)
    )
    await running.start()
    try:
        original = app.chats.get_settings

        async def slow(platform: str, chat_id: str) -> ChatSettings | None:
            await asyncio.sleep(0.2)
            return await original(platform, chat_id)

        monkeypatch.setattr(app.chats, "get_settings", slow)
        server = world.ru
        handle, first = await command(dc, server, server.member, "help")
        assert first.type == 5  # "thinking", then the answer replaces it
        done = await handle.wait_for_original()
        assert done.embeds[0]["title"] == translator("ru").gettext("Commands")

        handle, first = await command(dc, server, server.member, "language", {"language": "xx"})
        assert first.type == 5
        [refusal] = await handle.wait_for_followups(1)
        assert refusal.ephemeral
        assert readable(refusal.content).startswith(
            translator("ru").gettext("“{text}” is not one of the bot's languages.", text="xx")
        )
        assert handle.original is not None
        assert handle.original.deleted  # the public "thinking" message does not stay
        assert "xx" not in handle.original.text  # and never showed the private answer

        handle, first = await command(dc, server, server.owner, "setup", {"time": "07:00"})
        assert (first.type, first.ephemeral) == (5, True)  # /setup is always private
        done = await handle.wait_for_original()
        assert done.ephemeral
        assert "07:00" in done.content

        handle, _ = await command(dc, server, server.member, "today")
        message = await handle.wait_for_original()
        edits = len(message.edits)  # the deferred answer itself was an edit
        pressed = await dc.press_button(message, "cb:today:2026-05-10", server.member)
        assert (await pressed.response()).type == 6  # a deferred update of the message
        await dc.wait_for(lambda: len(message.edits) > edits or None, 5, "the edit")
        assert message.custom_ids == ["cb:today:2026-05-09", "cb:today:2026-05-11"]
    finally:
        await running.stop()


@sqlite_only
async def test_a_failure_after_a_public_deferral_apologizes_privately(
    app: App,
    dc: FakeDiscordServer,
    world: World,
    discord_settings: Settings,
    *,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def slow_and_broken(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.2)
        raise RuntimeError("events table gone")

    monkeypatch.setattr(app.core, "upcoming_events", slow_and_broken)
    running = DiscordAdapter(
        app.dispatcher, discord_settings, options=replace(OPTIONS, defer_after=0.05)
    )
    await running.start()
    try:
        handle, first = await command(dc, world.fr, world.fr.member, "events")
        assert (first.type, first.ephemeral) == (5, False)
        [apology] = await handle.wait_for_followups(1)
        assert apology.ephemeral
        assert apology.content == translator("fr").gettext(APOLOGY)
        assert handle.original is not None
        assert handle.original.deleted
        assert "events table gone" in logged(caplog)
        caplog.clear()
    finally:
        await running.stop()
