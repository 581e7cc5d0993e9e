"""Each conversation, scripted once, held on the console, on Telegram and on Discord.

A script is what a user does (type, press a button, and the bot restarting in the middle)
and what the answer must say. Every script has a wrong answer, a command typed in the middle
of the flow (answered, the flow left as it was, and said so), a restart of the bot in the
middle of the flow that continues where it stopped, and a ``/cancel``. The Telegram and
Discord runs drive the real adapters against the fake servers; all run on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from bot.app import App
from bot.core.timeutil import FixedClock
from tests.fakes.discord_server import FakeDiscordServer
from tests.fakes.telegram_server import FakeTelegramServer
from tests.flows.drivers import (
    Bot,
    Chat,
    ConsoleChat,
    DiscordChat,
    TelegramChat,
    start_discord,
    start_discord_deferring,
    start_telegram,
)

STILL_OPEN = "form is still open: answer its last question, or send /cancel."


@dataclass(frozen=True)
class Send:
    """The user types ``text``; the answer contains every one of ``expect``."""

    text: str
    expect: tuple[str, ...]


@dataclass(frozen=True)
class Press:
    """The user presses the button labelled with ``label``."""

    label: str
    expect: tuple[str, ...]


@dataclass(frozen=True)
class Restart:
    """The bot stops and starts again; the conversation lives in the database."""


Step = Send | Press | Restart


def send(text: str, *expect: str) -> Send:
    """A typed message and what its answer must say."""
    return Send(text, expect)


def press(label: str, *expect: str) -> Press:
    """A pressed button and what its answer must say."""
    return Press(label, expect)


SCRIPTS: dict[str, tuple[Step, ...]] = {
    "timezone": (
        send("/timezone", "Which time zone?", "Europe/Brussels"),
        send("Xyzzyland", "I found no time zone for “Xyzzyland”"),
        send("/help", "/today", "Your /timezone " + STILL_OPEN),
        Restart(),
        send("Moscow", "Several time zones match “Moscow”", "Europe/Moscow"),
        press("Europe/Moscow", "Time zone set to Europe/Moscow.", "The local time there is"),
        send("/settings", "Time zone: Europe/Moscow"),
        send("/timezone", "Which time zone?"),
        send("/cancel", "Cancelled: nothing was saved. Send /timezone to start again."),
        send("/settings", "Time zone: Europe/Moscow"),
    ),
    "subscribe": (
        # without a time: DEFAULT_DELIVERY_TIME at once, another time one button away
        send("/subscribe", "Subscribed.", "9:00", "Europe/Brussels"),
        press("Another time", "At what time should the daily “on this day” post arrive"),
        send("25:99", "“25:99” is not a time of day. Send it as HH:MM."),
        send("/settings", "Daily post: every day at 9:00", "Your /subscribe " + STILL_OPEN),
        Restart(),
        press("Another time", "Send the time as HH:MM, for example 07:30."),
        send("07:45", "moved from 9:00", "to 7:45", "Europe/Brussels"),
        send("/settings", "Daily post: every day at 7:45"),
        send("/subscribe", "already subscribed", "7:45"),
        press("Another time", "At what time"),
        press("Cancel", "Cancelled: nothing was saved. Send /subscribe to start again."),
        send("/settings", "Daily post: every day at 7:45"),
    ),
    "memorial": (
        send("/memorial", "Which memorial?"),
        send("Zzyzx", "No memorial matches “Zzyzx”."),
        send("/today 05-09", "On this day, May 9", "Your /memorial " + STILL_OPEN),
        Restart(),
        send("Lieje", "No memorial matches “Lieje” exactly.", "Which one do you mean?"),
        press("Citadel of Liège Memorial", "Citadel of Liège Memorial", "Position:"),
        send("/memorial", "Which memorial?"),
        send("/cancel", "Cancelled: nothing was saved. Send /memorial to start again."),
        send("/cancel", "There is nothing to cancel."),
    ),
    "setup": (
        send("/setup", "In which language should the posts be?", "Nederlands"),
        press("Nederlands", "Which time zone?"),
        send("Xyzzyland", "I found no time zone for “Xyzzyland”"),
        send("/settings", "Your /setup " + STILL_OPEN),
        Restart(),
        send("Moscow", "Several time zones match “Moscow”"),
        press("Back", "In which language should the posts be?"),
        press("Deutsch", "Which time zone?"),
        send("Lüttich", "At what time should the daily “on this day” post arrive", "Brussels"),
        send("25:99", "“25:99” is not a time of day."),
        send("19:30", "Save these settings?", "Deutsch", "Europe/Brussels", "7:30"),
        press("Save", "will receive the “on this day” post", "at 7:30", "in Deutsch"),
        send("/settings", "Europe/Brussels", "19:30"),
    ),
    "near": (
        send("/near", "Where?"),
        send("Nowhere-upon-Nothing", "is neither coordinates nor a town I know"),
        send("/events", "Your /near " + STILL_OPEN),
        Restart(),
        send("50,63 5,57", "Memorials nearest to 50.6300, 5.5700", "Liège"),
        send("/near", "Where?"),
        send("Lüttich", "Memorials nearest to Liège, BE"),
        send("/near", "Where?"),
        press("Cancel", "Cancelled: nothing was saved. Send /near to start again."),
    ),
}


async def play(chat: Chat, script: tuple[Step, ...]) -> list[str]:
    """Run a script; every answer must say what the script expects."""
    answers: list[str] = []
    for number, step in enumerate(script, start=1):
        if isinstance(step, Restart):
            await chat.restart()
            continue
        if isinstance(step, Send):
            answer = await chat.send(step.text)
        else:
            answer = await chat.press(step.label)
        for expected in step.expect:
            assert expected in answer, f"step {number} ({step}): {expected!r} not in\n{answer}"
        answers.append(answer)
    return answers


@pytest.fixture
async def bot(app: App, clock: FixedClock) -> AsyncIterator[Bot]:
    """The app, restartable by the drivers (no adapter: the console)."""
    running = Bot(app, app.settings, clock)
    yield running
    await running.close()


@pytest.mark.parametrize("flow", sorted(SCRIPTS))
async def test_on_the_console(bot: Bot, flow: str) -> None:
    await play(ConsoleChat(bot), SCRIPTS[flow])


@pytest.mark.slow
@pytest.mark.parametrize("flow", sorted(SCRIPTS))
async def test_on_telegram(app: App, clock: FixedClock, tg: FakeTelegramServer, flow: str) -> None:
    settings = replace(app.settings, telegram_token=tg.token, telegram_api_base_url=tg.base_url)
    running = Bot(app, settings, clock, start_telegram)
    await running.open()
    try:
        alice = tg.add_user("Alice", username="alice", language_code="en")
        tg.private_chat(alice)
        await play(TelegramChat(running, tg, alice), SCRIPTS[flow])
    finally:
        await running.close()
    assert tg.stats.errors == {}, "the fake refused nothing"


async def _play_on_discord(
    app: App, clock: FixedClock, dc: FakeDiscordServer, flow: str, start: Any
) -> DiscordChat:
    """Play ``flow`` as a server owner in #general, the bot started by ``start``."""
    owner = dc.add_user("owner", locale="en-US")
    guild = dc.add_guild("Memory", preferred_locale="en-US", owner=owner, channels=["general"])
    settings = replace(
        app.settings,
        discord_token=dc.token,
        discord_api_base_url=dc.api_base,
        discord_gateway_url=dc.gateway_url,
    )
    running = Bot(app, settings, clock, start)
    await running.open()
    try:
        chat = DiscordChat(running, dc, guild, guild.channel("general"), owner)
        await play(chat, SCRIPTS[flow])
    finally:
        await running.close()
    return chat


@pytest.mark.slow
@pytest.mark.parametrize("flow", sorted(SCRIPTS))
async def test_on_discord(app: App, clock: FixedClock, dc: FakeDiscordServer, flow: str) -> None:
    chat = await _play_on_discord(app, clock, dc, flow, start_discord)
    assert chat.ephemeral and all(chat.ephemeral), "a server sees no one's questions but theirs"


@pytest.mark.slow
@pytest.mark.parametrize("flow", ["setup", "timezone"])
async def test_on_discord_with_every_answer_deferred(
    app: App, clock: FixedClock, dc: FakeDiscordServer, flow: str
) -> None:
    """On a loaded machine a handler may take longer than the deferral threshold: the user
    sees the "thinking" message, then the answer; the flow must read the same."""
    chat = await _play_on_discord(app, clock, dc, flow, start_discord_deferring)
    deferred = [h for h in dc.interactions if h.callbacks and h.callbacks[0].deferred]
    assert len(deferred) >= 3, "the answers were deferred, as the test means"
    assert chat.ephemeral and all(chat.ephemeral)
