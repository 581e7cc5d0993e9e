"""This process's heartbeat in the ledger, so others know whether its claims are still held.

A process that claims rows beats every ``interval`` seconds (``DeliveryLedger.heartbeat``,
stamped with the database's clock). Another process, or this one restarted, takes over the
``sending`` rows of a holder not seen for ``timeout`` (``DeliveryLedger.claim(liveness=…)``):
after a ``kill -9`` the rows wait seconds, not the claim lease.

The other side of the bargain: a process whose own beats are late (its event loop stalled,
its database unreachable) may already look dead to the others, so it starts no new send until
a beat goes through again (``fresh``). Sends already in flight finish; their outcomes are
fenced by ``claimed_by`` as before.

Beside the beats, each process holds a lock that dies with it (``DeliveryLedger.hold``: a
PostgreSQL advisory lock on a connection of its own, a ``flock`` on SQLite). The others read
it at every beat: a process killed with ``kill -9`` counts as dead, and its rows are taken
over, at the next beat of any other process (or the first beat of the one restarted), not
``timeout`` later.

The beats also tell each process how many live processes send to each of its platforms
(``peers``): processes on one bot token share its ceiling, each taking ``1/n`` of it
(``RateLimiter.set_share``), rebalanced at every beat. A process joining waits until every
other live process has beaten since its own first beat, and one second more, so the others
have shrunk their share and their last second of sends has passed (``Liveness._join``); a
process leaving (or dying) hands its share back at the others' next beat (or ``timeout``
later): the sum never exceeds the ceiling.

Real time on purpose (``time.monotonic``, ``asyncio.sleep``), never the injected
``TimeSource``: liveness is about this process and the database, not the schedule's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence

from bot.core.delivery import first_line
from bot.scheduling.ports import DeliveryLedger

log = logging.getLogger(__name__)

FRESH_MARGIN = 0.5
"""Seconds before another process could take this one's rows when it stops starting sends."""

JOIN_MARGIN = 1.2
"""Seconds a joining process waits after the others' next beat: the platforms' window (1 s)
for their sends at the old share to age out, and a little more."""


class LivenessLost(RuntimeError):
    """This process's liveness lock is lost: to the others it looks gone."""


class Liveness:
    """Beats for ``worker`` every ``interval`` seconds while running."""

    def __init__(
        self,
        ledger: DeliveryLedger,
        worker: str,
        *,
        interval: float,
        timeout: dt.timedelta,
        platforms: Sequence[str] = (),
        on_peers: Callable[[Mapping[str, int]], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.worker = worker
        self.interval = interval
        self.timeout = timeout
        self.platforms = tuple(platforms)
        self.on_peers = on_peers
        self.peers: dict[str, int] = {}
        """Live processes sending to each platform, this one included (at the last beat)."""
        self.last_beat = float("-inf")
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._users = 0
        self._starting = asyncio.Lock()

    def fresh(self) -> bool:
        """Whether the last beat is recent enough that no other process can have taken this
        one's claims: the beat counts from the moment it was sent (the database stamps it
        later), with ``FRESH_MARGIN`` for the send that starts now to reach the platform."""
        return time.monotonic() - self.last_beat < self.timeout.total_seconds() - FRESH_MARGIN

    async def beat(self) -> None:
        """One beat; the instant it is sent counts (the database stamps a later one). The
        liveness lock is checked first: once it is lost, the others may be taking this
        process's rows at once, so it stops starting sends until it holds the lock again."""
        sent = time.monotonic()
        if not await self.ledger.hold(self.worker):
            self.last_beat = float("-inf")
            raise LivenessLost(f"the liveness lock of {self.worker} is lost")
        peers = await self.ledger.heartbeat(self.worker, self.platforms, self.timeout)
        self.last_beat = sent
        self.peers = {platform: max(1, peers.get(platform, 0)) for platform in self.platforms}
        if self.on_peers is not None:
            self.on_peers(self.peers)

    async def start(self) -> None:
        """Beat once (before the first claim) and keep beating; nested starts share it."""
        self._users += 1
        async with self._starting:  # the drainers of several platforms start together
            if self._task is not None:
                return
            await self.beat()
            self._stopping = False
            self._task = asyncio.create_task(self._loop(), name=f"heartbeat:{self.worker}")
            await self._join()

    async def _join(self) -> None:
        """Wait until every live peer has beaten since this process's first beat (so it has
        counted this one and shrunk its share), then ``JOIN_MARGIN`` for its sends at the old
        share to age out of the platform's window. A peer's beat may come late (a loaded
        machine), so this waits for the beats themselves, not for one ``interval``; a peer
        that stops beating is no longer live after ``timeout`` and no longer waited for.
        Two processes starting together each see the other here even when neither counted
        the other at its first beat."""
        behind, since = await self.ledger.waiting_peers(self.worker, None, self.timeout)
        if not behind and all(count <= 1 for count in self.peers.values()):
            return
        deadline = time.monotonic() + self.interval + self.timeout.total_seconds()
        while behind and time.monotonic() < deadline:
            await asyncio.sleep(min(0.2, self.interval / 4))
            behind, since = await self.ledger.waiting_peers(self.worker, since, self.timeout)
        await self.beat()  # this one's own share, counting every peer that counted it
        await asyncio.sleep(JOIN_MARGIN)

    async def stop(self) -> None:
        """Stop beating once the last user stopped, and forget this worker."""
        self._users = max(0, self._users - 1)
        if self._users or self._task is None:
            return
        task, self._task = self._task, None
        self._stopping = True  # a cancellation swallowed inside a beat still ends the loop
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        try:
            await self.ledger.retire(self.worker)
        except Exception as error:  # its row simply expires
            log.warning("could not retire delivery worker %s: %s", self.worker, first_line(error))

    async def _loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.interval)
            if self._stopping:
                return
            try:
                await self.beat()
            except Exception as error:
                log.warning(
                    "delivery heartbeat failed (%s); no new sends until one succeeds",
                    first_line(error),
                )
