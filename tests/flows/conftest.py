"""Fixtures of the conversation tests: the fake Telegram and Discord servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.discord_server import FakeDiscordServer
from tests.fakes.telegram_server import FakeTelegramServer


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegramServer]:
    """The fake Bot API server."""
    async with FakeTelegramServer() as server:
        yield server


@pytest.fixture
async def dc() -> AsyncIterator[FakeDiscordServer]:
    """The fake Discord server."""
    async with FakeDiscordServer() as server:
        yield server
