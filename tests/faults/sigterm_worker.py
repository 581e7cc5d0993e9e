"""The bot's delivery loop as ``run`` runs it, for the SIGTERM test: ``python -m
tests.faults.sigterm_worker DATABASE_URL LOG_FILE``.

It plans at 9 May 2026 07:00 UTC and drains with a sender that takes a while per message and
appends ``start <chat>`` then ``done <chat>`` to ``LOG_FILE`` (one ``O_APPEND`` write per line);
SIGTERM is handled by ``bot.runner.shutdown_requested``, as in ``run``, and stops the
delivery service the way ``running_scheduler`` does."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys

from bot.app import open_app
from bot.config import Settings
from bot.core.reply import Reply
from bot.core.timeutil import FixedClock
from bot.runner import shutdown_requested
from bot.scheduling.service import DeliveryService
from bot.scheduling.settings import DeliverySettings
from db.deliveries import SqlDeliveryLedger
from tests.scheduling.support import AT, anniversary_source

SEND_SECONDS = 0.3


class SlowFileSender:
    """Each send takes ``SEND_SECONDS`` between its ``start`` and its ``done`` line."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    async def send(self, chat_id: str, reply: Reply, thread_id: str = "", *, key: str = "") -> None:
        os.write(self.fd, f"start {chat_id}\n".encode())
        await asyncio.sleep(SEND_SECONDS)
        os.write(self.fd, f"done {chat_id}\n".encode())


async def main(url: str, log_file: str) -> None:
    async with shutdown_requested() as stop:
        app = await open_app(Settings(database_url=url), clock=FixedClock(AT), seed=False)
        try:
            service = DeliveryService(
                ledger=SqlDeliveryLedger(app.sessions),
                senders={"console": SlowFileSender(log_file)},
                anniversaries=anniversary_source(),
                settings=DeliverySettings(
                    claim_lease=dt.timedelta(minutes=10),
                    concurrency=4,
                    poll_interval=0.05,
                ),
                clock=FixedClock(AT),
            )
            await service.start()
            service.request_plan()
            try:
                await stop.wait()
            finally:
                await service.stop()
        finally:
            await app.close()
    print("stopped", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
