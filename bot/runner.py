"""``run``: one event loop for every adapter and the scheduler, started and stopped in order."""

from __future__ import annotations

import logging
import sys

from bot.adapters.console import ConsoleAdapter
from bot.app import open_app
from bot.config import ConfigError, Settings
from handlers.dispatch import Dispatcher

log = logging.getLogger(__name__)

TOKEN_HINT = (
    "no TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN is set: running the console adapter "
    "(set TELEGRAM_BOT_TOKEN to run on Telegram, DISCORD_BOT_TOKEN to run on Discord)"
)


def choose_platforms(settings: Settings, platform: str | None) -> list[str]:
    """The adapters to run: the one asked for, or every one whose token is set."""
    if platform == "all":
        platforms = ["telegram", "discord"]
    elif platform is not None:
        platforms = [platform]
    else:
        platforms = [
            name
            for name, token in (
                ("telegram", settings.telegram_token),
                ("discord", settings.discord_token),
            )
            if token
        ]
        if not platforms:
            print(TOKEN_HINT, file=sys.stderr)
            return ["console"]
    for name in platforms:
        if name == "telegram" and not settings.telegram_token:
            raise ConfigError("--platform telegram needs TELEGRAM_BOT_TOKEN")
        if name == "discord" and not settings.discord_token:
            raise ConfigError("--platform discord needs DISCORD_BOT_TOKEN")
    return platforms


async def run_bot(settings: Settings, platform: str | None) -> None:
    """Run the chosen adapters until they stop (the console: at end of input)."""
    platforms = choose_platforms(settings, platform)
    app = await open_app(settings)
    try:
        dispatcher = Dispatcher(app.core)
        if platforms == ["console"]:
            await ConsoleAdapter(dispatcher).run()
            return
        raise ConfigError(
            f"the {' and '.join(platforms)} adapter is not available in this version yet"
        )
    finally:
        await app.close()
