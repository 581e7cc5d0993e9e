"""A Telegram polling conflict: another instance long-polls with the same token, so the Bot API
answers 409 Conflict to getUpdates. The bot says so in one clear log line (no traceback, not a
line per retry), keeps trying, and once the other instance is gone answers again."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest

from bot.adapters.telegram import TelegramAdapter
from bot.app import App
from tests.fakes.telegram_server import FakeTelegramServer
from tests.telegram.conftest import ask, sqlite_only


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as server:
        yield server


@pytest.fixture
async def polling(app: App, tg: FakeTelegramServer) -> AsyncIterator[TelegramAdapter]:
    settings = replace(app.settings, telegram_token=tg.token, telegram_api_base_url=tg.base_url)
    running = TelegramAdapter(app.dispatcher, settings, poll_timeout=5)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def _other_instance(tg: FakeTelegramServer, seconds: float) -> int:
    """Long-poll with the bot's token for ``seconds``, as a second instance would; how many
    409s it got itself."""
    conflicts = 0
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            async with http.post(f"{tg.api_url}/getUpdates", json={"timeout": 1}) as answer:
                conflicts += answer.status == 409
                await answer.read()
    return conflicts


@sqlite_only
async def test_a_polling_conflict_is_one_clear_line_and_polling_goes_on(
    tg: FakeTelegramServer, polling: TelegramAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    alice = tg.add_user("Alice", username="alice", language_code="en")
    tg.private_chat(alice)
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    await _other_instance(tg, 4.0)
    ours = [r for r in caplog.records if r.name.startswith("bot.") and r.levelno >= logging.INFO]
    conflict = [r for r in ours if "another instance" in r.getMessage()]
    assert len(conflict) == 1, [r.getMessage() for r in ours]
    assert conflict[0].levelno == logging.WARNING
    assert "409" in conflict[0].getMessage()
    assert not any(r.exc_info for r in caplog.records if r.levelno >= logging.WARNING)
    assert polling.connected()
    # the other instance is gone: polling resumed, nothing lost
    replies = await asyncio.wait_for(ask(tg, alice, "/help"), 60)
    assert replies
