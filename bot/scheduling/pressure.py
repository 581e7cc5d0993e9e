"""Commands before posts: deliveries give way when the event loop falls behind.

The running bot answers commands and sends scheduled posts in one event loop. During a large
broadcast the sends in flight (up to ``concurrency`` per platform) fill every turn of the loop
with their callbacks, and a command, which needs a dozen turns (its update read, its database
reads, its reply), waits behind them at each one: measured in the soak, the loop 80 % busy and
commands' p95 over 300 ms while posts went out at a few hundred a second.

``LoopPressure`` measures how late the loop wakes a task that sleeps ``interval`` (its lag) and
keeps a share of the drainers' ``concurrency``: halved when the lag passes ``target`` (at most
once per ``interval``), grown back by a step each time it is under half of it (additive
increase, multiplicative decrease, as TCP shares a link). Under a quiet loop the drainers run
at their full concurrency, so the rate ceilings are reached as before; while commands and
posts compete, posts go out a little slower and commands wait less.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)

DEFAULT_TARGET = 0.010
"""Seconds of loop lag above which deliveries give way."""
INTERVAL = 0.02
FLOOR = 2
"""Sends in flight a drainer keeps whatever the lag (it never stops)."""
STEP = 0.05
"""The share of ``concurrency`` given back per quiet sample."""
MIN_SHARE = 0.05


class LoopPressure:
    """The share of their concurrency the drainers may use, from the event loop's lag."""

    def __init__(self, target: float = DEFAULT_TARGET, interval: float = INTERVAL) -> None:
        self.target = target
        self.interval = interval
        self.share = 1.0
        self.lag = 0.0
        """The last lag measured, in seconds."""
        self._task: asyncio.Task[None] | None = None

    def allowed(self, concurrency: int) -> int:
        """Sends a drainer of ``concurrency`` may have in flight now."""
        return max(min(FLOOR, concurrency), round(concurrency * self.share))

    def observe(self, lag: float) -> None:
        """Adjust the share to one lag sample."""
        self.lag = lag
        if lag > self.target:
            self.share = max(MIN_SHARE, self.share / 2)
        elif lag < self.target / 2:
            self.share = min(1.0, self.share + STEP)

    def start(self) -> None:
        """Start sampling in the running loop (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._sample(), name="loop-pressure")

    async def stop(self) -> None:
        """Stop sampling; the share goes back to all of it."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.share = 1.0

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            self.observe(max(0.0, loop.time() - before - self.interval))
