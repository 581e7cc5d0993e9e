"""A delivery pass for the ``kill -9`` test, run as ``python -m tests.scheduling.crash_worker
DATABASE_URL LOG_FILE LEASE_SECONDS``.

Its sender takes a few milliseconds per message and appends the chat id to ``LOG_FILE`` (one
``O_APPEND`` write per line, so a kill never leaves half a line): the file is what the chats
"received"."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys

from bot.app import open_app
from bot.config import Settings
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


async def main(url: str, log_file: str, lease: float) -> None:
    app = await open_app(Settings(database_url=url), clock=FixedClock(AT), seed=False)
    try:
        service = DeliveryService(
            ledger=SqlDeliveryLedger(app.sessions),
            senders={"console": FileSender(log_file)},
            anniversaries=anniversary_source(),
            settings=DeliverySettings(
                claim_lease=dt.timedelta(seconds=lease),
                concurrency=CONCURRENCY,
                poll_interval=0.05,
            ),
            clock=FixedClock(AT),
        )
        report = await service.tick()
        print(f"sent {report.drained.sent}", flush=True)
    finally:
        await app.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
