"""Time for the delivery machinery: a monotonic clock and sleep for pacing, a wall clock for the
ledger's leases and retry instants. Tests swap in a fake that never really sleeps."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Protocol

from bot.core.timeutil import utc_now


class TimeSource(Protocol):
    """Monotonic seconds, aware UTC wall time, and sleeping."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    def now(self) -> dt.datetime:
        """The current instant, aware, in UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemTime:
    """The real clocks and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def now(self) -> dt.datetime:
        """The current instant, aware, in UTC."""
        return utc_now()

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(max(0.0, seconds))


class AnchoredTime(SystemTime):
    """Real monotonic time and sleep, with the wall clock starting at a given instant: a pass
    run "as of" another instant (``tick --at``, a test's fixed clock) sees a row due later
    than that instant (a march's next slot, a retry) as not yet due."""

    def __init__(self, start: dt.datetime) -> None:
        self._start = start
        self._origin = time.monotonic()

    def now(self) -> dt.datetime:
        """The start instant plus the real time elapsed since."""
        return self._start + dt.timedelta(seconds=time.monotonic() - self._origin)
