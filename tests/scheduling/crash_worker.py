"""A delivery pass for the ``kill -9`` tests and benchmark, run as ``python -m
tests.scheduling.crash_worker DATABASE_URL LOG_FILE LEASE_SECONDS [options]``.

Without ``--platform`` its sender takes a few milliseconds per message and appends the chat id
to ``LOG_FILE`` (one ``O_APPEND`` write per line, so a kill never leaves half a line): the file
is what the chats "received". With ``--platform telegram`` or ``discord`` it sends through the
real adapter's sender to the API at ``--api`` (a fake server in the parent process, which
counts what arrived). ``--legacy`` runs as before issue 15: no heartbeat (only the lease frees
a dead process's rows) and no Discord nonce.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
from collections.abc import AsyncIterator

from bot.app import open_app
from bot.config import Settings
from bot.core.ports import Sender
from bot.core.reply import Reply
from bot.core.timeutil import FixedClock
from bot.scheduling.service import DeliveryService
from bot.scheduling.settings import DeliverySettings
from db.deliveries import SqlDeliveryLedger
from tests.scheduling.support import AT, anniversary_source

CONCURRENCY = 8
SEND_SECONDS = 0.004


class FileSender:
    """Appends each chat id to a file after a short delay, like a network call."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    async def send(self, chat_id: str, reply: Reply, thread_id: str = "", *, key: str = "") -> None:
        await asyncio.sleep(SEND_SECONDS)
        os.write(self.fd, f"{chat_id}\n".encode())


class WithoutKey:
    """A sender as before issue 15: the delivery key is not passed on (no Discord nonce)."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender

    async def send(self, chat_id: str, reply: Reply, thread_id: str = "", *, key: str = "") -> None:
        await self.sender.send(chat_id, reply, thread_id)


@contextlib.asynccontextmanager
async def platform_sender(
    platform: str, api: str, token: str, settings: Settings, log_file: str
) -> AsyncIterator[Sender]:
    """The sender of ``platform`` at ``api`` (or the file sender for ``console``)."""
    if platform == "telegram":
        from bot.adapters.telegram import open_sender as open_telegram

        telegram = dataclasses.replace(settings, telegram_token=token, telegram_api_base_url=api)
        async with open_telegram(telegram) as sender:
            yield sender
    elif platform == "discord":
        from bot.adapters.discord import DiscordSender

        discord = DiscordSender(token, api)
        try:
            yield discord
        finally:
            await discord.close()
    else:
        yield FileSender(log_file)


async def main(arguments: argparse.Namespace) -> None:
    settings = Settings(database_url=arguments.url)
    app = await open_app(settings, clock=FixedClock(AT), seed=False)
    try:
        async with platform_sender(
            arguments.platform, arguments.api, arguments.token, settings, arguments.log_file
        ) as platform:
            sender: Sender = WithoutKey(platform) if arguments.legacy else platform
            service = DeliveryService(
                ledger=SqlDeliveryLedger(app.sessions),
                senders={arguments.platform: sender},
                anniversaries=anniversary_source(),
                settings=DeliverySettings(
                    claim_lease=dt.timedelta(seconds=arguments.lease),
                    concurrency=arguments.concurrency,
                    poll_interval=0.05,
                    telegram_rate_limit=arguments.rate,
                    discord_rate_limit=arguments.rate,
                    worker_timeout=(
                        None if arguments.legacy else dt.timedelta(seconds=arguments.worker_timeout)
                    ),
                ),
                clock=FixedClock(AT),
            )
            report = await service.tick()
        print(f"sent {report.drained.sent}", flush=True)
    finally:
        await app.close()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The worker's arguments."""
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("log_file")
    parser.add_argument("lease", type=float)
    parser.add_argument("--platform", default="console")
    parser.add_argument("--api", default="")
    parser.add_argument("--token", default="")
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--legacy", action="store_true")
    parser.add_argument("--worker-timeout", type=float, default=3.0)
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
