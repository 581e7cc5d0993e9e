"""Fixtures of the Telegram adapter's tests: the fake Bot API server, users, the adapter.

The adapter under test is the real one: python-telegram-bot's ``Application`` long-polling
the fake server on 127.0.0.1, with the real core on the ``app`` fixture (SQLite and
PostgreSQL). Helpers send a user's message and wait for the bot's answer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.adapters.telegram import TelegramAdapter
from bot.app import App
from bot.config import Settings
from tests.fakes.telegram_server import FakeChat, FakeTelegramServer, FakeUser, SentMessage

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""For tests of the adapter's own behaviour that only read the database: the chat-state flows
(subscriptions, settings, migrations, deactivation) run on both databases."""


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegramServer]:
    """The fake Bot API server, on a free port of 127.0.0.1."""
    async with FakeTelegramServer() as server:
        yield server


@pytest.fixture
def alice(tg: FakeTelegramServer) -> FakeUser:
    """An English-speaking user who has started a private chat with the bot."""
    user = tg.add_user("Alice", username="alice", language_code="en")
    tg.private_chat(user)
    return user


@pytest.fixture
def boris(tg: FakeTelegramServer) -> FakeUser:
    """A user whose Telegram app speaks Russian."""
    user = tg.add_user("Борис", username="boris", language_code="ru")
    tg.private_chat(user)
    return user


@pytest.fixture
def telegram_settings(app: App, tg: FakeTelegramServer) -> Settings:
    """The app's settings with the fake server's token and Bot API base."""
    return replace(app.settings, telegram_token=tg.token, telegram_api_base_url=tg.base_url)


@pytest.fixture
async def adapter(
    app: App, telegram_settings: Settings, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[TelegramAdapter]:
    """The adapter, long-polling the fake server; no error may be logged unless the test
    clears the log."""
    running = TelegramAdapter(app.dispatcher, telegram_settings, poll_timeout=5)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors


async def ask(
    tg: FakeTelegramServer,
    user: FakeUser,
    text: str,
    chat: FakeChat | None = None,
    *,
    replies: int = 1,
    thread: int | None = None,
) -> list[SentMessage]:
    """``user`` writes ``text`` (in ``chat``, default the private chat); the bot's new
    messages there, once ``replies`` of them arrived."""
    where: FakeChat = chat or tg.private_chat(user)
    before = len(tg.sent(where))
    tg.send_user_message(user, where, text, message_thread_id=thread)
    sent = await tg.wait_for_messages(before + replies, chat_id=where)
    return sent[before:]


async def post(
    tg: FakeTelegramServer, channel: FakeChat, text: str, *, replies: int = 1
) -> list[SentMessage]:
    """A post in ``channel``; the bot's new messages there."""
    before = len(tg.sent(channel))
    tg.channel_post(channel, text)
    sent = await tg.wait_for_messages(before + replies, chat_id=channel)
    return sent[before:]
