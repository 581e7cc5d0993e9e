"""The bot on Telegram, through python-telegram-bot, in the application's own event loop.

- ``TelegramAdapter(app, settings)``: ``await start()`` / ``await stop()`` (or ``async with``);
  its ``sender`` is the ``Sender`` the scheduler uses for Telegram deliveries;
- ``open_sender(settings, core=None)``: a ``TelegramSender`` without the adapter, for a ``tick``;
- ``render``: the pure rendering of a neutral reply (HTML chunks, inline keyboard, venue).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


def _remember_that_sniffio_is_missing() -> None:
    """httpcore (under python-telegram-bot's httpx) imports ``sniffio`` inside
    ``current_async_library()``, a few times per request, and falls back to asyncio when it is
    missing; anyio stopped bringing sniffio (4.11), and Python does not remember a failed
    import, so each call searched ``sys.path`` again: 6 % of the event loop in the soak at
    about 1,000 sends a second (encode/httpcore#1103). ``None`` in ``sys.modules`` makes that
    import fail at once, with the same fallback; an installed sniffio is left alone."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


_remember_that_sniffio_is_missing()

from telegram import Bot  # noqa: E402
from telegram.error import InvalidToken, TelegramError  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from bot.adapters.telegram.adapter import TelegramAdapter, api_host, file_base_url  # noqa: E402
from bot.adapters.telegram.render import RenderedReply, render  # noqa: E402
from bot.adapters.telegram.sender import TelegramSender, describe  # noqa: E402
from bot.config import ConfigError, Settings  # noqa: E402
from bot.core.services import Core  # noqa: E402

__all__ = ["RenderedReply", "TelegramAdapter", "TelegramSender", "open_sender", "render"]

SENDER_CONNECTIONS = 64


@asynccontextmanager
async def open_sender(
    settings: Settings, core: Core | None = None
) -> AsyncIterator[TelegramSender]:
    """A ``TelegramSender`` on its own connection pool, for deliveries without the adapter
    (``tick``); with ``core``, a group migrated to a supergroup has its subscriptions moved."""
    token = settings.telegram_token
    if not token:
        raise ConfigError("sending to Telegram needs TELEGRAM_BOT_TOKEN")
    host = api_host(settings.telegram_api_base_url)
    bot = Bot(
        token,
        base_url=settings.telegram_api_base_url,
        base_file_url=file_base_url(settings.telegram_api_base_url)
        or "https://api.telegram.org/file/bot",
        request=HTTPXRequest(connection_pool_size=SENDER_CONNECTIONS),
    )
    try:
        await bot.initialize()
    except TelegramError as error:
        await bot.shutdown()
        if isinstance(error, InvalidToken):
            raise ConfigError(f"TELEGRAM_BOT_TOKEN was rejected by the Bot API at {host}") from None
        raise ConfigError(
            f"cannot reach the Telegram Bot API at {host}: {describe(error, token)}"
        ) from None
    try:
        yield TelegramSender(bot, core, paid_broadcast=settings.telegram_paid_broadcast)
    finally:
        await bot.shutdown()
