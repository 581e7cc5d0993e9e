"""This process's heartbeat in the ledger, so others know whether its claims are still held.

A process that claims rows beats every ``interval`` seconds (``DeliveryLedger.heartbeat``,
stamped with the database's clock). Another process, or this one restarted, takes over the
``sending`` rows of a holder not seen for ``timeout`` (``DeliveryLedger.claim(liveness=…)``):
after a ``kill -9`` the rows wait seconds, not the claim lease.

The other side of the bargain: a process whose own beats are late (its event loop stalled,
its database unreachable) may already look dead to the others, so it starts no new send until
a beat goes through again (``fresh``). Sends already in flight finish; their outcomes are
fenced by ``claimed_by`` as before.

Real time on purpose (``time.monotonic``, ``asyncio.sleep``), never the injected
``TimeSource``: liveness is about this process and the database, not the schedule's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time

from bot.scheduling.ports import DeliveryLedger

log = logging.getLogger(__name__)


class Liveness:
    """Beats for ``worker`` every ``interval`` seconds while running."""

    def __init__(
        self, ledger: DeliveryLedger, worker: str, *, interval: float, timeout: dt.timedelta
    ) -> None:
        self.ledger = ledger
        self.worker = worker
        self.interval = interval
        self.timeout = timeout
        self.last_beat = float("-inf")
        self._task: asyncio.Task[None] | None = None
        self._users = 0

    def fresh(self) -> bool:
        """Whether the last beat is recent enough that no other process can have taken this
        one's claims (a margin of one interval below the timeout)."""
        margin = self.timeout.total_seconds() - self.interval
        return time.monotonic() - self.last_beat < margin

    async def beat(self) -> None:
        """One beat; the instant it is sent counts (the database stamps a later one)."""
        sent = time.monotonic()
        await self.ledger.heartbeat(self.worker)
        self.last_beat = sent

    async def start(self) -> None:
        """Beat once (before the first claim) and keep beating; nested starts share it."""
        self._users += 1
        if self._task is None:
            await self.beat()
            self._task = asyncio.create_task(self._loop(), name=f"heartbeat:{self.worker}")

    async def stop(self) -> None:
        """Stop beating once the last user stopped, and forget this worker."""
        self._users = max(0, self._users - 1)
        if self._users or self._task is None:
            return
        task, self._task = self._task, None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        try:
            await self.ledger.retire(self.worker)
        except Exception as error:  # its row simply expires
            log.warning("could not retire delivery worker %s: %s", self.worker, error)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.beat()
            except Exception as error:
                log.warning(
                    "delivery heartbeat failed (%s); no new sends until one succeeds", error
                )
