"""The bot on Discord, through discord.py, in the application's own event loop.

- ``DiscordAdapter(app, settings, options=discord_options(env))``: ``await start()`` /
  ``await stop()`` (or ``async with``); its ``sender`` is the ``Sender`` the scheduler uses
  for Discord deliveries;
- ``open_sender(settings, core=None)``: a ``DiscordSender`` without the gateway, for a
  ``tick``;
- ``render``: the pure rendering of a neutral reply (embeds, content, buttons).
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    # discord.py imports the standard audioop module, deprecated since Python 3.11 (voice
    # support, unused here); with warnings as errors the import itself would fail.
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord  # noqa: F401

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.adapters.discord.adapter import (
    CommemorationBot,
    DiscordAdapter,
    DiscordOptions,
    discord_options,
    point_discord_py_at,
)
from bot.adapters.discord.render import RenderedReply, render
from bot.adapters.discord.sender import DiscordSender
from bot.config import ConfigError, Settings
from bot.core.delivery import TransientError
from bot.core.domain import Platform
from bot.core.services import Core

__all__ = [
    "CommemorationBot",
    "DiscordAdapter",
    "DiscordOptions",
    "DiscordSender",
    "RenderedReply",
    "discord_options",
    "open_sender",
    "point_discord_py_at",
    "render",
]


@asynccontextmanager
async def open_sender(settings: Settings, core: Core | None = None) -> AsyncIterator[DiscordSender]:
    """A ``DiscordSender`` on its own connection pool, for deliveries without the gateway
    (``tick``); with ``core``, a channel that answers Forbidden or Not Found has its
    subscriptions deactivated at once (the scheduler deactivates the one it delivered)."""
    token = settings.discord_token
    if not token:
        raise ConfigError("sending to Discord needs DISCORD_BOT_TOKEN")

    async def gone(channel_id: str, reason: str) -> None:
        if core is not None:
            await core.chat_gone(Platform.DISCORD.value, channel_id)

    sender = DiscordSender(token, settings.discord_api_base_url, on_gone=gone)
    try:
        try:
            accepted = await sender.check_token()
        except TransientError as error:
            raise ConfigError(
                f"cannot reach the Discord API at {sender.host}: {error.reason}"
            ) from None
        if not accepted:
            raise ConfigError(f"DISCORD_BOT_TOKEN was rejected by the Discord API at {sender.host}")
        yield sender
    finally:
        await sender.close()
