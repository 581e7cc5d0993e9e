"""Several processes on one token and one database: only one receives Telegram's updates.

Two real adapters (python-telegram-bot long-polling the fake Bot API) share the database's
lock (``db.locks``: an advisory lock on PostgreSQL, a ``flock`` beside the SQLite file): one
polls, the other delivers only; when the first stops, or its database connection is cut, the
second takes over within seconds, and a user's message is answered once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from sqlalchemy import text

from bot.adapters import leadership
from bot.adapters.telegram import TelegramAdapter
from bot.app import App
from bot.config import Settings
from bot.runner import elect_receivers
from db.locks import AdvisoryLock
from tests.fakes.telegram_server import FakeTelegramServer, FakeUser
from tests.telegram.conftest import ask

INTERVAL = 0.3


@pytest.fixture
async def pair(
    app: App, telegram_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[list[TelegramAdapter]]:
    """Two adapters on one token and one database, as two processes would run them."""
    monkeypatch.setattr(leadership, "INTERVAL", INTERVAL)
    adapters = [TelegramAdapter(app.dispatcher, telegram_settings, poll_timeout=2) for _ in "ab"]
    async with AsyncExitStack() as stack:
        for adapter in adapters:
            elect_receivers(app, telegram_settings, {"telegram": adapter})
            await adapter.start()
            stack.push_async_callback(adapter.stop)
        yield adapters


async def _until(condition: object, seconds: float) -> float:
    """Seconds until ``condition()`` holds (fails after ``seconds``)."""
    start = time.monotonic()
    assert callable(condition)
    while not condition():
        assert time.monotonic() - start < seconds, "timed out"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def test_one_process_polls_and_the_other_takes_over_when_it_stops(
    tg: FakeTelegramServer, alice: FakeUser, pair: list[TelegramAdapter]
) -> None:
    first, second = pair
    assert first.receiving() and not second.receiving()
    assert first.connected() and second.connected()  # the standby one delivers: healthy
    await asyncio.sleep(4 * INTERVAL)
    assert not second.receiving()
    assert tg.poll_conflicts == 0
    assert len(await asyncio.wait_for(ask(tg, alice, "/help"), 30)) == 1
    await first.stop()
    await _until(second.receiving, 10 * INTERVAL)
    replies = await asyncio.wait_for(ask(tg, alice, "/help"), 30)
    assert len(replies) == 1
    assert tg.poll_conflicts == 0


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_process_whose_connection_is_cut_stops_polling_and_the_other_takes_over(
    app: App, tg: FakeTelegramServer, alice: FakeUser, pair: list[TelegramAdapter]
) -> None:
    """As when the holder is killed: the server ends its session, the lock goes with it."""
    first, second = pair
    lock = first.updates_lock
    assert isinstance(lock, AdvisoryLock) and lock._connection is not None
    pid = await lock._connection.scalar(text("SELECT pg_backend_pid()"))
    async with app.engine.connect() as admin:
        await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    await _until(lambda: second.receiving() and not first.receiving(), 10 * INTERVAL)
    assert first.connected()  # still delivering, on standby now
    assert len(await asyncio.wait_for(ask(tg, alice, "/help"), 30)) == 1
