"""Receive a platform's updates only while holding its lock; deliver either way.

Processes that share a Telegram token share one ``getUpdates`` consumer (or one webhook):
``Leadership`` takes the lock (``db.locks``) at start and, while it holds it, receives; a
process that does not get it delivers only and tries again every ``interval`` seconds, so it
takes over within about that long once the holder dies (PostgreSQL releases the lock as soon
as the dead process's connection closes). The holder checks its lock at the same pace and stops
receiving when it has lost it (its database connection was cut), so that two receivers overlap
for at most one check (Telegram then answers one of them 409, which the adapter reports once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)

INTERVAL = 2.0
"""Seconds between a standby process's attempts, and between the holder's checks."""


class ProcessLock(Protocol):
    """A lock held by at most one process at a time, released when that process dies."""

    async def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; whether this process holds it now."""
        ...

    async def held(self) -> bool:
        """Whether this process still holds it (False once its connection is gone)."""
        ...

    async def release(self) -> None:
        """Let it go (safe to call when not held)."""
        ...


class Leadership:
    """``start_receiving`` while ``lock`` is held, ``stop_receiving`` when it is lost."""

    def __init__(
        self,
        lock: ProcessLock,
        start_receiving: Callable[[], Awaitable[None]],
        stop_receiving: Callable[[], Awaitable[None]],
        *,
        what: str,
        interval: float | None = None,
    ) -> None:
        self.lock = lock
        self.start_receiving = start_receiving
        self.stop_receiving = stop_receiving
        self.what = what
        self.interval = INTERVAL if interval is None else interval
        self.leading = False
        self._task: asyncio.Task[None] | None = None

    async def begin(self) -> None:
        """Try once now (an error in ``start_receiving`` propagates: a refused webhook is a
        configuration error), then keep watching in the background."""
        if await self.lock.try_acquire():
            try:
                await self.start_receiving()
            except BaseException:
                await self.lock.release()
                raise
            self.leading = True
        else:
            log.info(
                "%s: another process receives the updates; this one delivers only and takes "
                "over if that one stops",
                self.what,
            )
        self._task = asyncio.create_task(self._watch(), name=f"leadership:{self.what}")

    async def end(self) -> None:
        """Stop watching, stop receiving, let the lock go."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.leading:
            self.leading = False
            await self.stop_receiving()
        await self.lock.release()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self._step()
            except Exception as error:  # the database is away: try again at the next step
                log.warning("%s: could not check who receives the updates: %s", self.what, error)

    async def _step(self) -> None:
        if self.leading:
            if await self.lock.held():
                return
            log.warning(
                "%s: lost the database connection that made this process the receiver of "
                "updates; it stops receiving until it holds the lock again",
                self.what,
            )
            self.leading = False
            await self.stop_receiving()
            await self.lock.release()
            return
        if not await self.lock.try_acquire():
            return
        try:
            await self.start_receiving()
        except Exception as error:
            log.warning("%s: could not start receiving updates: %s", self.what, error)
            await self.lock.release()
            return
        self.leading = True
        log.info("%s: this process now receives the updates", self.what)
